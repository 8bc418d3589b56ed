package applytest

import (
	"context"
	"sync"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/mlmesh/mlmesh/apply"
)

// Watched is a Client that calls After once each of its writes (Apply,
// Delete) returns, holding Mu through both: clients that share a
// Mu write one at a time, and After sees every state between two writes
// (a test checks a fleet of clusters after every write to any of them).
type Watched struct {
	apply.Client
	Mu    *sync.Mutex
	After func()
}

// Apply implements apply.Client.
func (w *Watched) Apply(ctx context.Context, obj *unstructured.Unstructured, opts apply.PatchOptions) (*unstructured.Unstructured, error) {
	w.Mu.Lock()
	defer w.Mu.Unlock()
	defer w.After()
	return w.Client.Apply(ctx, obj, opts)
}

// Delete implements apply.Client.
func (w *Watched) Delete(ctx context.Context, gvk schema.GroupVersionKind, namespace, name string, opts apply.DeleteOptions) error {
	w.Mu.Lock()
	defer w.Mu.Unlock()
	defer w.After()
	return w.Client.Delete(ctx, gvk, namespace, name, opts)
}
