// Package crapply adapts controller-runtime's client.Client to
// apply.Client, for controllers built with controller-runtime:
//
//	res, err := apply.Apply(ctx, crapply.New(mgr.GetClient()), objs, apply.Options{FieldManager: "my-controller"})
//
// It is a module of its own (github.com/mlmesh/mlmesh/apply/crapply), so
// that a program that imports mlmesh without it neither compiles
// controller-runtime nor has its version chosen by mlmesh's go.mod.
//
// With WithSchemas (a discovery client's OpenAPIV3()), apply.Apply sends
// nothing for objects already as wanted. It sends one
// apply per other object and one List per kind and namespace (a manager's
// client reads unstructured objects from the API server unless its cache
// is set to hold them; a cached view may lag, which changes only the
// outcome reported). Those Lists are JSON, slower to decode than the
// protobuf Lists of dynamicapply.NewForConfig (BENCHMARKS.md). client-go's
// default client-side limit (rest.Config QPS 5, Burst 10) makes a large
// App slow: raise them on the manager's config.
package crapply

import (
	"context"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/client-go/openapi"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mlmesh/mlmesh/apply"
	"github.com/mlmesh/mlmesh/internal/typeconv"
)

// Client applies through a controller-runtime client.
type Client struct {
	c     client.Client
	types *typeconv.Cache
}

var _ apply.Client = (*Client)(nil)

// New returns a Client using c. The client needs no scheme for the
// Istio types: objects travel as unstructured.
func New(c client.Client) *Client { return &Client{c: c} }

// WithSchemas lets apply.Apply read the API server's schemas through
// openAPI (a discovery client's OpenAPIV3()), so that it sends nothing for
// objects already as wanted; it returns a. The schemas of each
// group-version are read once, when first needed.
func (a *Client) WithSchemas(openAPI openapi.Client) *Client {
	a.types = typeconv.New(openAPI)
	return a
}

// TypeConverter implements apply.Schemas; without WithSchemas it answers
// apply.ErrNoSchemas, and apply.Apply then sends every object.
func (a *Client) TypeConverter(ctx context.Context, gvs []schema.GroupVersion) (managedfields.TypeConverter, error) {
	return a.types.TypeConverter(ctx, gvs)
}

// SchemaDigest implements apply.SchemaDigester: a digest of the API
// server's current OpenAPI v3 document hashes of gvs (one request), by
// which an apply.Cache keeps verdicts across processes. Without
// WithSchemas it answers apply.ErrNoSchemas.
func (a *Client) SchemaDigest(ctx context.Context, gvs []schema.GroupVersion) (string, error) {
	return a.types.SchemaDigest(ctx, gvs)
}

// Apply server-side applies obj with client.Client.Apply. Field
// validation is strict, as for every apply request through
// controller-runtime: an unknown field is an error, never dropped.
func (a *Client) Apply(ctx context.Context, obj *unstructured.Unstructured, opts apply.PatchOptions) (*unstructured.Unstructured, error) {
	u := obj.DeepCopy()
	ao := []client.ApplyOption{client.FieldOwner(opts.FieldManager)}
	if opts.Force {
		ao = append(ao, client.ForceOwnership)
	}
	if opts.DryRun {
		ao = append(ao, client.DryRunAll)
	}
	if err := a.c.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), ao...); err != nil {
		return nil, err
	}
	return u, nil
}

// Get reads an object.
func (a *Client) Get(ctx context.Context, gvk schema.GroupVersionKind, namespace, name string) (*unstructured.Unstructured, error) {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gvk)
	if err := a.c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, u); err != nil {
		return nil, err
	}
	return u, nil
}

// Delete deletes an object, letting the garbage collector remove what it
// owns. An object that does not exist is not an error.
func (a *Client) Delete(ctx context.Context, gvk schema.GroupVersionKind, namespace, name string, opts apply.DeleteOptions) error {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gvk)
	u.SetNamespace(namespace)
	u.SetName(name)
	do := []client.DeleteOption{client.PropagationPolicy(metav1.DeletePropagationBackground)}
	if opts.DryRun {
		do = append(do, client.DryRunAll)
	}
	return client.IgnoreNotFound(a.c.Delete(ctx, u, do...))
}

// List lists the objects of a kind in namespace that carry the labels.
func (a *Client) List(ctx context.Context, gvk schema.GroupVersionKind, namespace string, match map[string]string) ([]runtime.Object, error) {
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
	if err := a.c.List(ctx, list, client.InNamespace(namespace), client.MatchingLabels(match)); err != nil {
		return nil, err
	}
	out := make([]runtime.Object, len(list.Items))
	for i := range list.Items {
		out[i] = &list.Items[i]
	}
	return out, nil
}
