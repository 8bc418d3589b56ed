// Package applytest provides an in-memory cluster for tests of code that
// applies mlmesh objects: it implements apply.Client, bumps an object's resourceVersion only
// when its content changes, and can fail on a chosen call. It is a fake for
// unit speed: it does not merge fields as server-side apply does, check
// field ownership or run admission; test against a real API server too.
package applytest

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/managedfields"

	"github.com/mlmesh/mlmesh/apply"
	"github.com/mlmesh/mlmesh/render"
)

var _ apply.Client = (*Cluster)(nil)

// Cluster is an in-memory store of objects.
type Cluster struct {
	mu      sync.Mutex
	objects map[string]*unstructured.Unstructured
	version int
	calls   int
	// FailOn, if positive, makes the FailOn-th call to Apply or Delete
	// (counting from 1) fail with ErrInjected.
	FailOn int
	// OnChange, if set, is called after every change, with the cluster,
	// one call at a time even when objects are applied concurrently.
	OnChange func(*Cluster)
	changeMu sync.Mutex
}

func (c *Cluster) changed() {
	if c.OnChange != nil {
		c.changeMu.Lock()
		defer c.changeMu.Unlock()
		c.OnChange(c)
	}
}

// ErrInjected is the error a Cluster fails with on FailOn.
var ErrInjected = fmt.Errorf("applytest: injected failure")

// NewCluster returns an empty Cluster.
func NewCluster() *Cluster { return &Cluster{objects: map[string]*unstructured.Unstructured{}} }

func key(gvk schema.GroupVersionKind, namespace, name string) string {
	return gvk.Group + "/" + gvk.Kind + "/" + namespace + "/" + name
}

func content(u *unstructured.Unstructured) string {
	c := u.DeepCopy()
	c.SetResourceVersion("")
	b, _ := render.MarshalYAML(c)
	return string(b)
}

func (c *Cluster) fail() error {
	c.calls++
	if c.FailOn > 0 && c.calls == c.FailOn {
		return ErrInjected
	}
	return nil
}

// Apply stores obj (replacing what was there), bumping the resourceVersion
// when the content changed.
func (c *Cluster) Apply(_ context.Context, obj *unstructured.Unstructured, opts apply.PatchOptions) (*unstructured.Unstructured, error) {
	c.mu.Lock()
	if err := c.fail(); err != nil {
		c.mu.Unlock()
		return nil, err
	}
	k := key(obj.GroupVersionKind(), obj.GetNamespace(), obj.GetName())
	old := c.objects[k]
	next := obj.DeepCopy()
	if old != nil && content(old) == content(next) {
		out := old.DeepCopy()
		c.mu.Unlock()
		return out, nil
	}
	c.version++
	next.SetResourceVersion(strconv.Itoa(c.version))
	if opts.DryRun {
		c.mu.Unlock()
		return next, nil
	}
	c.objects[k] = next
	c.mu.Unlock()
	c.changed()
	return next.DeepCopy(), nil
}

// Get returns a copy of an object, or a NotFound error.
func (c *Cluster) Get(_ context.Context, gvk schema.GroupVersionKind, namespace, name string) (*unstructured.Unstructured, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if u, ok := c.objects[key(gvk, namespace, name)]; ok {
		return u.DeepCopy(), nil
	}
	return nil, apierrors.NewNotFound(schema.GroupResource{Group: gvk.Group, Resource: gvk.Kind}, name)
}

// Delete removes an object; a missing one is not an error, as
// apply.Writer asks.
func (c *Cluster) Delete(_ context.Context, gvk schema.GroupVersionKind, namespace, name string, opts apply.DeleteOptions) error {
	c.mu.Lock()
	if err := c.fail(); err != nil {
		c.mu.Unlock()
		return err
	}
	k := key(gvk, namespace, name)
	if _, ok := c.objects[k]; !ok {
		c.mu.Unlock()
		return nil
	}
	if !opts.DryRun {
		delete(c.objects, k)
	}
	c.mu.Unlock()
	if !opts.DryRun {
		c.changed()
	}
	return nil
}

// List returns the objects of a kind in namespace carrying the labels.
func (c *Cluster) List(_ context.Context, gvk schema.GroupVersionKind, namespace string, labels map[string]string) ([]runtime.Object, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*unstructured.Unstructured
	for _, u := range c.objects {
		if u.GroupVersionKind().GroupKind() != gvk.GroupKind() || u.GetNamespace() != namespace {
			continue
		}
		ok := true
		for k, v := range labels {
			if u.GetLabels()[k] != v {
				ok = false
			}
		}
		if ok {
			out = append(out, u.DeepCopy())
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].GetName() < out[j].GetName() })
	objs := make([]runtime.Object, len(out))
	for i, u := range out {
		objs[i] = u
	}
	return objs, nil
}

// TypeConverter answers apply.ErrNoSchemas: a Cluster does not keep
// managed fields, so apply sends every object to it.
func (c *Cluster) TypeConverter(context.Context, []schema.GroupVersion) (managedfields.TypeConverter, error) {
	return nil, apply.ErrNoSchemas
}

// Objects returns copies of every stored object, sorted by kind, namespace
// and name.
func (c *Cluster) Objects() []*unstructured.Unstructured {
	c.mu.Lock()
	defer c.mu.Unlock()
	keys := make([]string, 0, len(c.objects))
	for k := range c.objects {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]*unstructured.Unstructured, len(keys))
	for i, k := range keys {
		out[i] = c.objects[k].DeepCopy()
	}
	return out
}

// SetAvailable sets a stored Deployment's status as the Deployment
// controller would once its pods are ready (or no longer are), for tests of
// waiting. It reports whether the Deployment exists.
func (c *Cluster) SetAvailable(namespace, name string, available bool) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	u, ok := c.objects[key(schema.GroupVersionKind{Group: "apps", Kind: "Deployment"}, namespace, name)]
	if !ok {
		return false
	}
	status := "False"
	if available {
		status = "True"
	}
	_ = unstructured.SetNestedSlice(u.Object, []any{map[string]any{"type": "Available", "status": status}}, "status", "conditions")
	_ = unstructured.SetNestedField(u.Object, u.GetGeneration(), "status", "observedGeneration")
	return true
}
