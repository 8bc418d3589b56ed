package apply

import (
	"context"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/managedfields"

	"github.com/mlmesh/mlmesh/internal/typeconv"
)

// DefaultFieldManager is the field manager Apply uses when none is given.
const DefaultFieldManager = "mlmesh"

// Client is what Apply, Transition and Managed need of a cluster, in
// controller-runtime's manner: one interface composed of small ones, so
// that a wrapper (logging, metrics, fault injection) embeds a Client,
// overrides the methods it cares about and is still a whole Client.
//
// The adapters in apply/dynamicapply (client-go's dynamic client),
// apply/crapply (controller-runtime's client.Client) and apply/applytest
// (in memory, for tests) implement it.
type Client interface {
	Reader
	Writer
	Schemas
}

// Reader reads live objects.
type Reader interface {
	// Get reads one object. It returns an error satisfying
	// apierrors.IsNotFound when the object does not exist.
	Get(ctx context.Context, gvk schema.GroupVersionKind, namespace, name string) (*unstructured.Unstructured, error)
	// List lists the objects of a kind in a namespace that carry every one
	// of labels (all of them when labels is empty). Each item is an
	// *unstructured.Unstructured or, for a kind the client decodes as such
	// (Kubernetes' own kinds over protobuf, say), a typed object of
	// client-go's scheme with its apiVersion and kind set; Apply compares
	// either as it is. A kind the cluster does not serve is an error
	// satisfying meta.IsNoMatchError.
	List(ctx context.Context, gvk schema.GroupVersionKind, namespace string, labels map[string]string) ([]runtime.Object, error)
}

// Writer changes objects.
type Writer interface {
	// Apply server-side applies obj with opts and returns the object as the
	// server stored it (or, in a dry run, would have). A conflict with
	// another field manager is returned as the API server's error
	// (apierrors.IsConflict).
	Apply(ctx context.Context, obj *unstructured.Unstructured, opts PatchOptions) (*unstructured.Unstructured, error)
	// Delete deletes an object, letting the garbage collector remove what
	// it owns. Deleting an object that does not exist is not an error.
	Delete(ctx context.Context, gvk schema.GroupVersionKind, namespace, name string, opts DeleteOptions) error
}

// Schemas reads the API server's schemas.
type Schemas interface {
	// TypeConverter returns the schemas of the given group-versions as
	// managed fields' TypeConverter. With it Apply and Transition send
	// nothing for an object whose live state already holds, owned by the
	// field manager, exactly the fields and values wanted (see
	// Options.SendAll). A client without schemas returns ErrNoSchemas (any
	// error will do), and every object is then sent.
	TypeConverter(ctx context.Context, gvs []schema.GroupVersion) (managedfields.TypeConverter, error)
	// SchemaDigest names the schemas of the given group-versions as the
	// server serves them now, by a digest that changes whenever any of them
	// does (the adapters use the hashes the API server gives its OpenAPI v3
	// documents: one request). A Cache keys its verdicts by it, rather
	// than by the TypeConverter, so that they hold in another process with
	// another Client of the same server (Cache.WriteTo, ReadCache), and the
	// TypeConverter is then built only when an object must be compared. A
	// client that cannot name its schemas returns an error (ErrNoSchemas
	// will do): verdicts are then kept for the TypeConverter's life alone.
	SchemaDigest(ctx context.Context, gvs []schema.GroupVersion) (string, error)
}

// ErrNoSchemas is what a Client without the server's schemas returns from
// TypeConverter (the adapters do when given no OpenAPI client).
var ErrNoSchemas = typeconv.ErrNoSchemas

// PatchOptions are what a Writer's Apply is asked to do with one object.
type PatchOptions struct {
	// FieldManager names the owner of the applied fields; Apply and
	// Transition always set it.
	FieldManager string
	// Force takes ownership of fields another field manager owns.
	Force bool
	// DryRun asks the server to validate and admit the object without
	// storing it.
	DryRun bool
}

// DeleteOptions are what a Writer's Delete is asked to do.
type DeleteOptions struct {
	// DryRun asks the server to check the deletion without carrying it out.
	DryRun bool
}
