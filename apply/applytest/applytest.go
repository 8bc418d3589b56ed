// Package applytest provides an in-memory cluster for tests of code that
// applies mlmesh objects: it implements apply.Client, bumps an object's
// resourceVersion only when its content changes, and can fail on a chosen
// call.
//
// NewCluster stores what it is given, replacing what was there.
// NewServerSideCluster applies as the API server does, with
// apimachinery's field manager (the server-side apply code the API server
// runs): it merges, records managedFields per manager, reports conflicts
// and serves types, so that apply skips what is already as wanted. Both
// are fakes for unit speed: neither runs validation, admission or
// controllers; test against a real API server too.
//
// Counter wraps any apply.Client and counts its requests by verb, to hold
// code to a request budget.
package applytest

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
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
	// Schema, if set, is what SchemaDigest answers: the version of the
	// server's schemas, to change as a server's schemas change. Empty
	// answers apply.ErrNoSchemas.
	Schema string
	// Default, if set, is called on every object before it is stored, as
	// the API server sets defaults (of a custom resource's schema, say).
	Default  func(*unstructured.Unstructured)
	changeMu sync.Mutex

	types    managedfields.TypeConverter // set: server-side apply
	managers map[schema.GroupVersionKind]*managedfields.FieldManager
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

// NewCluster returns an empty Cluster that stores each object applied as
// it is, replacing what was there. Its TypeConverter answers
// apply.ErrNoSchemas, so apply sends it every object.
func NewCluster() *Cluster { return &Cluster{objects: map[string]*unstructured.Unstructured{}} }

// NewServerSideCluster returns an empty Cluster that applies as the API
// server does: apimachinery's field manager merges each apply into the
// live object, records the fields each manager owns in managedFields, and
// answers an apply that would change another manager's fields with a
// conflict (apierrors.IsConflict) unless it is forced. Its TypeConverter
// serves types, so apply.Apply sends nothing for an object already as
// wanted. types are the kinds' schemas; nil deduces them from the objects
// (maps merged key by key, lists replaced whole), as the API server does
// for a custom resource without a schema.
func NewServerSideCluster(types managedfields.TypeConverter) *Cluster {
	if types == nil {
		types = managedfields.NewDeducedTypeConverter()
	}
	c := NewCluster()
	c.types, c.managers = types, map[schema.GroupVersionKind]*managedfields.FieldManager{}
	return c
}

// fieldManager is the field manager of a kind, made on first use.
func (c *Cluster) fieldManager(gvk schema.GroupVersionKind) (*managedfields.FieldManager, error) {
	if m, ok := c.managers[gvk]; ok {
		return m, nil
	}
	m, err := managedfields.NewDefaultFieldManager(c.types, unconverted{}, noDefaults{}, unstructuredCreater{}, gvk, gvk.GroupVersion(), "", nil)
	if err != nil {
		return nil, err
	}
	c.managers[gvk] = m
	return m, nil
}

func key(gvk schema.GroupVersionKind, namespace, name string) string {
	return gvk.Group + "/" + gvk.Kind + "/" + namespace + "/" + name
}

func content(u *unstructured.Unstructured) string {
	c := u.DeepCopy()
	c.SetResourceVersion("")
	b, _ := render.MarshalYAML(c)
	return string(b)
}

// unchanged reports whether storing next leaves old as it is: the same
// content, and under server-side apply the same managedFields.
func (c *Cluster) unchanged(old, next *unstructured.Unstructured) bool {
	if old == nil {
		return false
	}
	if c.types == nil {
		return content(old) == content(next)
	}
	return stored(old) == stored(next)
}

// stored is all of a stored object but its resourceVersion.
func stored(u *unstructured.Unstructured) string {
	c := u.DeepCopy()
	c.SetResourceVersion("")
	b, _ := c.MarshalJSON()
	return string(b)
}

// The field manager's conversions: a Cluster stores every kind as it is
// applied, at its own version, unstructured.
type (
	unconverted         struct{}
	noDefaults          struct{}
	unstructuredCreater struct{}
)

func (unconverted) Convert(in, out, _ any) error {
	u, ok1 := in.(*unstructured.Unstructured)
	o, ok2 := out.(*unstructured.Unstructured)
	if !ok1 || !ok2 {
		return fmt.Errorf("applytest: cannot convert %T to %T", in, out)
	}
	o.Object = u.DeepCopy().Object
	return nil
}

func (unconverted) ConvertToVersion(in runtime.Object, _ runtime.GroupVersioner) (runtime.Object, error) {
	return in, nil
}

func (unconverted) ConvertFieldLabel(_ schema.GroupVersionKind, label, value string) (string, string, error) {
	return label, value, nil
}

func (noDefaults) Default(runtime.Object) {}

func (unstructuredCreater) New(gvk schema.GroupVersionKind) (runtime.Object, error) {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gvk)
	return u, nil
}

func (c *Cluster) fail() error {
	c.calls++
	if c.FailOn > 0 && c.calls == c.FailOn {
		return ErrInjected
	}
	return nil
}

// Apply stores obj, bumping the resourceVersion when what is stored
// changed: as it is (NewCluster), or merged into the live object by
// server-side apply as opts.FieldManager (NewServerSideCluster).
func (c *Cluster) Apply(_ context.Context, obj *unstructured.Unstructured, opts apply.PatchOptions) (*unstructured.Unstructured, error) {
	c.mu.Lock()
	if err := c.fail(); err != nil {
		c.mu.Unlock()
		return nil, err
	}
	next, err := c.merge(obj, func(m *managedfields.FieldManager, live *unstructured.Unstructured) (runtime.Object, error) {
		return m.Apply(live, obj.DeepCopy(), opts.FieldManager, opts.Force)
	})
	if err != nil {
		c.mu.Unlock()
		return nil, err
	}
	return c.store(next, opts.DryRun)
}

// Update writes obj as a non-apply write of manager (kubectl edit, a
// controller's update): the fields it changes become manager's. On a
// NewCluster it stores obj as Apply does.
func (c *Cluster) Update(_ context.Context, obj *unstructured.Unstructured, manager string) (*unstructured.Unstructured, error) {
	c.mu.Lock()
	next, err := c.merge(obj, func(m *managedfields.FieldManager, live *unstructured.Unstructured) (runtime.Object, error) {
		return m.Update(live, obj.DeepCopy(), manager)
	})
	if err != nil {
		c.mu.Unlock()
		return nil, err
	}
	return c.store(next, false)
}

// merge returns what writing obj makes of the live object, with c.mu held.
func (c *Cluster) merge(obj *unstructured.Unstructured, write func(*managedfields.FieldManager, *unstructured.Unstructured) (runtime.Object, error)) (*unstructured.Unstructured, error) {
	if c.types == nil {
		return obj.DeepCopy(), nil
	}
	gvk := obj.GroupVersionKind()
	m, err := c.fieldManager(gvk)
	if err != nil {
		return nil, err
	}
	live := c.objects[key(gvk, obj.GetNamespace(), obj.GetName())]
	if live == nil {
		live = &unstructured.Unstructured{}
		live.SetGroupVersionKind(gvk)
		live.SetNamespace(obj.GetNamespace())
		live.SetName(obj.GetName())
	}
	out, err := write(m, live.DeepCopy())
	if err != nil {
		return nil, err
	}
	u, ok := out.(*unstructured.Unstructured)
	if !ok {
		return nil, fmt.Errorf("applytest: the field manager returned a %T", out)
	}
	return u, nil
}

// store stores next, with c.mu held, and releases it.
func (c *Cluster) store(next *unstructured.Unstructured, dryRun bool) (*unstructured.Unstructured, error) {
	if c.Default != nil {
		c.Default(next)
	}
	k := key(next.GroupVersionKind(), next.GetNamespace(), next.GetName())
	old := c.objects[k]
	if c.unchanged(old, next) {
		out := old.DeepCopy()
		c.mu.Unlock()
		return out, nil
	}
	c.version++
	next.SetResourceVersion(strconv.Itoa(c.version))
	if old == nil {
		next.SetUID(types.UID("uid-" + strconv.Itoa(c.version)))
	} else {
		next.SetUID(old.GetUID())
	}
	if dryRun {
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

// TypeConverter returns the types of a NewServerSideCluster. A NewCluster
// keeps no managed fields and answers apply.ErrNoSchemas, so apply sends
// every object to it.
func (c *Cluster) TypeConverter(context.Context, []schema.GroupVersion) (managedfields.TypeConverter, error) {
	if c.types == nil {
		return nil, apply.ErrNoSchemas
	}
	return c.types, nil
}

// SchemaDigest answers Schema, or apply.ErrNoSchemas when it is empty or
// the Cluster keeps no managed fields.
func (c *Cluster) SchemaDigest(context.Context, []schema.GroupVersion) (string, error) {
	if c.types == nil || c.Schema == "" {
		return "", apply.ErrNoSchemas
	}
	return c.Schema, nil
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

// Counts are the requests a Counter passed on, by verb, and how many
// times it was asked for the server's schemas (TypeConverter).
type Counts struct{ Applies, Gets, Lists, Deletes, Schemas int }

// Counter wraps a Client and counts the requests it passes on, by verb:
// how a test holds code to its request budget (one List per kind, nothing
// sent for what is already as wanted). It is safe for concurrent use, as
// apply.Apply's workers use it. With ListForbidden set its Lists fail, as
// for a role that may get but not list, and are not counted.
type Counter struct {
	apply.Client
	ListForbidden bool

	mu     sync.Mutex
	n      Counts
	listed map[string]int
}

// NewCounter returns a Counter passing requests on to c.
func NewCounter(c apply.Client) *Counter { return &Counter{Client: c} }

// Counts returns the requests counted so far.
func (c *Counter) Counts() Counts {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// Listed returns how many times each kind in each namespace was listed,
// keyed "Kind.group namespace" ("Service default", "Namespace " for a
// cluster-scoped kind): how a test holds code to one List per kind.
func (c *Counter) Listed() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.listed)
}

// Snapshot is what a Counter had counted at one moment (Counter.Snapshot),
// for UnchangedSince to compare with.
type Snapshot struct {
	Counts Counts
	Listed map[string]int
}

// Snapshot returns what the Counter has counted so far.
func (c *Counter) Snapshot() Snapshot { return Snapshot{c.Counts(), c.Listed()} }

// UnchangedSince returns, one line each, the requests since s that
// re-applying unchanged objects must not make: any apply, delete or get,
// and any kind and namespace listed other than once. None: the re-apply
// cost one List per kind and namespace and nothing else.
func (c *Counter) UnchangedSince(s Snapshot) []string {
	now := c.Snapshot()
	var out []string
	if d := now.Counts.Applies - s.Counts.Applies; d != 0 {
		out = append(out, fmt.Sprintf("%d applies", d))
	}
	if d := now.Counts.Deletes - s.Counts.Deletes; d != 0 {
		out = append(out, fmt.Sprintf("%d deletes", d))
	}
	if d := now.Counts.Gets - s.Counts.Gets; d != 0 {
		out = append(out, fmt.Sprintf("%d gets", d))
	}
	for _, k := range slices.Sorted(maps.Keys(now.Listed)) {
		if d := now.Listed[k] - s.Listed[k]; d != 1 {
			out = append(out, fmt.Sprintf("%s listed %d times, want once", k, d))
		}
	}
	return out
}

func (c *Counter) count(f func(*Counts)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f(&c.n)
}

// Apply counts and passes on.
func (c *Counter) Apply(ctx context.Context, obj *unstructured.Unstructured, opts apply.PatchOptions) (*unstructured.Unstructured, error) {
	c.count(func(n *Counts) { n.Applies++ })
	return c.Client.Apply(ctx, obj, opts)
}

// TypeConverter counts and passes on.
func (c *Counter) TypeConverter(ctx context.Context, gvs []schema.GroupVersion) (managedfields.TypeConverter, error) {
	c.count(func(n *Counts) { n.Schemas++ })
	return c.Client.TypeConverter(ctx, gvs)
}

// Get counts and passes on.
func (c *Counter) Get(ctx context.Context, gvk schema.GroupVersionKind, namespace, name string) (*unstructured.Unstructured, error) {
	c.count(func(n *Counts) { n.Gets++ })
	return c.Client.Get(ctx, gvk, namespace, name)
}

// Delete counts and passes on.
func (c *Counter) Delete(ctx context.Context, gvk schema.GroupVersionKind, namespace, name string, opts apply.DeleteOptions) error {
	c.count(func(n *Counts) { n.Deletes++ })
	return c.Client.Delete(ctx, gvk, namespace, name, opts)
}

// List counts and passes on, or fails as forbidden (ListForbidden).
func (c *Counter) List(ctx context.Context, gvk schema.GroupVersionKind, namespace string, labels map[string]string) ([]runtime.Object, error) {
	if c.ListForbidden {
		return nil, apierrors.NewForbidden(schema.GroupResource{Group: gvk.Group, Resource: gvk.Kind}, "", fmt.Errorf("may get, not list"))
	}
	c.count(func(n *Counts) {
		n.Lists++
		if c.listed == nil {
			c.listed = map[string]int{}
		}
		c.listed[gvk.GroupKind().String()+" "+namespace]++
	})
	return c.Client.List(ctx, gvk, namespace, labels)
}
