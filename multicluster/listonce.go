package multicluster

import (
	"context"
	"maps"
	"slices"
	"sync"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/mlmesh/mlmesh/apply"
)

// listOnce is one cluster's Client for the length of one Apply: it lists
// each kind in each namespace once, and answers the later Lists (the
// next phase's, pruning's read of what mlmesh applied) from what it read,
// kept current by the writes made through it. Re-applying an unchanged
// fleet thus costs one List per kind and namespace per cluster, not one
// per phase. A List that fails is not remembered (the next one asks the
// server again).
type listOnce struct {
	apply.Client

	mu    sync.Mutex
	lists map[listKey]*listed
}

type listKey struct {
	gvk       schema.GroupVersionKind
	namespace string
}

// listed is what was read of one kind in one namespace, by name.
type listed struct {
	mu    sync.Mutex
	items map[string]runtime.Object // nil until read
}

func (c *listOnce) entry(gvk schema.GroupVersionKind, namespace string) *listed {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lists == nil {
		c.lists = map[listKey]*listed{}
	}
	k := listKey{gvk, namespace}
	if c.lists[k] == nil {
		c.lists[k] = &listed{}
	}
	return c.lists[k]
}

// List reads the kind in the namespace the first time, all of it, and
// returns the items carrying every one of labels, in name order. The items
// are shared: callers only read them, as apply's do.
func (c *listOnce) List(ctx context.Context, gvk schema.GroupVersionKind, namespace string, labels map[string]string) ([]runtime.Object, error) {
	e := c.entry(gvk, namespace)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.items == nil {
		items, err := c.Client.List(ctx, gvk, namespace, nil)
		if err != nil {
			return nil, err
		}
		e.items = make(map[string]runtime.Object, len(items))
		for _, o := range items {
			m, err := meta.Accessor(o)
			if err != nil {
				return nil, err
			}
			e.items[m.GetName()] = o
		}
	}
	out := make([]runtime.Object, 0, len(e.items))
	for _, name := range slices.Sorted(maps.Keys(e.items)) {
		o := e.items[name]
		if m, err := meta.Accessor(o); err == nil && hasLabels(m.GetLabels(), labels) {
			out = append(out, o)
		}
	}
	return out, nil
}

func hasLabels(have, want map[string]string) bool {
	for k, v := range want {
		if got, ok := have[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// Apply passes on, and keeps what was read current with what the server
// stored.
func (c *listOnce) Apply(ctx context.Context, obj *unstructured.Unstructured, opts apply.PatchOptions) (*unstructured.Unstructured, error) {
	got, err := c.Client.Apply(ctx, obj, opts)
	if err == nil && !opts.DryRun && got != nil {
		c.written(obj.GroupVersionKind(), obj.GetNamespace(), obj.GetName(), got)
	}
	return got, err
}

// Delete passes on, and keeps what was read current.
func (c *listOnce) Delete(ctx context.Context, gvk schema.GroupVersionKind, namespace, name string, opts apply.DeleteOptions) error {
	err := c.Client.Delete(ctx, gvk, namespace, name, opts)
	if err == nil && !opts.DryRun {
		c.written(gvk, namespace, name, nil)
	}
	return err
}

// written records an object's new state (nil: deleted) in what was read
// of its kind, if that was read.
func (c *listOnce) written(gvk schema.GroupVersionKind, namespace, name string, obj runtime.Object) {
	e := c.entry(gvk, namespace)
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case e.items == nil:
	case obj == nil:
		delete(e.items, name)
	default:
		e.items[name] = obj
	}
}
