package apply_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/client-go/openapi/openapitest"

	"github.com/mlmesh/mlmesh/apply"
	"github.com/mlmesh/mlmesh/apply/applytest"
	"github.com/mlmesh/mlmesh/internal/typeconv"
	"github.com/mlmesh/mlmesh/render"
)

// These tests hold the up-to-date engine (an object whose fields owned by
// the field manager already hold what is wanted is not sent) to
// apimachinery's own server-side apply, run in memory by
// applytest.NewServerSideCluster. The conformance suite confirms them on a
// real API server.

// sent applies objs with opts through a counting client and returns the
// result and how many objects were sent.
func sent(t *testing.T, c *counting, objs []render.Object, opts apply.Options) (apply.Result, int) {
	t.Helper()
	before := c.Counts().Applies
	res, err := apply.Apply(context.Background(), c, objs, opts)
	if err != nil {
		t.Fatal(err)
	}
	return res, c.Counts().Applies - before
}

// sentObjects are the objects of res that were sent.
func sentObjects(res apply.Result) []string {
	var out []string
	for _, r := range res.Sent() {
		out = append(out, r.Object)
	}
	return out
}

func serverSide(types managedfields.TypeConverter) *counting {
	return newCounting(applytest.NewServerSideCluster(types))
}

// get reads an object from the cluster.
func get(t *testing.T, c *counting, kind schema.GroupVersionKind, name string) *unstructured.Unstructured {
	t.Helper()
	u, err := c.Cluster.Get(context.Background(), kind, "ml", name)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

var (
	deploymentKind = schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}
	serviceKind    = schema.GroupVersionKind{Version: "v1", Kind: "Service"}
	vsKind         = schema.GroupVersionKind{Group: "networking.istio.io", Version: "v1", Kind: "VirtualService"}
)

func TestSkipWhatIsAlreadySo(t *testing.T) {
	canary := stage(t, map[string]int32{"v1": 90, "v2": 10})
	c := serverSide(nil)
	res, n := sent(t, c, canary, apply.Options{})
	if n != len(canary) || len(res.With(apply.Created)) != len(canary) {
		t.Fatalf("first apply: %d sent, %d created, want %d", n, len(res.With(apply.Created)), len(canary))
	}
	if res, n := sent(t, c, canary, apply.Options{}); n != 0 || len(res.With(apply.Unchanged)) != len(canary) {
		t.Fatalf("again: sent %v", sentObjects(res))
	}
	// The negative control: SendAll sends them, and the server changes
	// nothing (what was skipped really was as wanted).
	if res, n := sent(t, c, canary, apply.Options{SendAll: true}); n != len(canary) || len(res.With(apply.Unchanged)) != len(canary) {
		t.Fatalf("SendAll: %d sent, %d unchanged", n, len(res.With(apply.Unchanged)))
	}

	// One weight changes: the VirtualService alone is sent.
	moved := stage(t, map[string]int32{"v1": 50, "v2": 50})
	if res, n := sent(t, c, moved, apply.Options{}); n != 1 || len(res.With(apply.Configured)) != 1 {
		t.Fatalf("a weight changed: sent %v", sentObjects(res))
	}

	// A field that only another manager owns makes no object differ.
	note := &unstructured.Unstructured{}
	note.SetGroupVersionKind(serviceKind)
	note.SetNamespace("ml")
	note.SetName("fraud")
	note.SetAnnotations(map[string]string{"example.com/owner": "platform"})
	if _, err := c.Cluster.Apply(context.Background(), note, apply.PatchOptions{FieldManager: "platform"}); err != nil {
		t.Fatal(err)
	}
	if res, n := sent(t, c, moved, apply.Options{}); n != 0 {
		t.Fatalf("after another manager's annotation: sent %v", sentObjects(res))
	}

	// A field the manager owns, changed by another's update, is sent: a
	// conflict until forced, then as wanted again.
	d := get(t, c, deploymentKind, "fraud-v1")
	if err := unstructured.SetNestedField(d.Object, int64(5), "spec", "replicas"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Cluster.Update(context.Background(), d, "kubectl-edit"); err != nil {
		t.Fatal(err)
	}
	_, err := apply.Apply(context.Background(), c, moved, apply.Options{})
	var conflict *apply.ConflictError
	if !errors.As(err, &conflict) || conflict.Object != "Deployment ml/fraud-v1" {
		t.Fatalf("after another manager's update of the replicas: %v, want a conflict on the Deployment", err)
	}
	if res, n := sent(t, c, moved, apply.Options{Force: true}); n != 1 {
		t.Fatalf("forced: sent %v", sentObjects(res))
	}
	if r, _, _ := unstructured.NestedInt64(get(t, c, deploymentKind, "fraud-v1").Object, "spec", "replicas"); r != 1 {
		t.Fatalf("forced: replicas %d, want 1", r)
	}
	if res, n := sent(t, c, moved, apply.Options{}); n != 0 {
		t.Fatalf("after the forced apply: sent %v", sentObjects(res))
	}

	// A field dropped from what is wanted is sent (and removed).
	dropped := stage(t, map[string]int32{"v1": 50, "v2": 50})
	for _, o := range dropped {
		if o.GetObjectKind().GroupVersionKind() == serviceKind {
			labels := o.GetLabels()
			delete(labels, "app.kubernetes.io/name")
			o.SetLabels(labels)
		}
	}
	if res, n := sent(t, c, dropped, apply.Options{}); n != 1 || sentObjects(res)[0] != "Service ml/fraud" {
		t.Fatalf("a label dropped: sent %v", sentObjects(res))
	}
	if _, ok := get(t, c, serviceKind, "fraud").GetLabels()["app.kubernetes.io/name"]; ok {
		t.Fatal("the dropped label is still on the Service")
	}

	// An object deleted behind mlmesh's back is created again.
	if err := c.Cluster.Delete(context.Background(), vsKind, "ml", "fraud", apply.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if res, n := sent(t, c, dropped, apply.Options{}); n != 1 || len(res.With(apply.Created)) != 1 {
		t.Fatalf("a deleted VirtualService: sent %v", sentObjects(res))
	}
}

// defaulting is a TypeConverter that also sets the defaults the cluster
// sets, as internal/typeconv's does for custom resources' schemas.
type defaulting struct {
	managedfields.TypeConverter
	set func(*unstructured.Unstructured)
}

func (d defaulting) Defaulted(u *unstructured.Unstructured) *unstructured.Unstructured {
	c := u.DeepCopy()
	d.set(c)
	return c
}

// TestServerDefaults: a default the server sets inside an atomic list (an
// HTTPRoute's backendRef weight, here a VirtualService's retry attempts)
// makes the live list differ from the applied one; a TypeConverter that
// knows the defaults keeps such an object from being sent every time.
func TestServerDefaults(t *testing.T) {
	retries := func(u *unstructured.Unstructured) {
		if u.GroupVersionKind() != vsKind {
			return
		}
		http, _, _ := unstructured.NestedSlice(u.Object, "spec", "http")
		for _, r := range http {
			if m, ok := r.(map[string]any); ok && m["retries"] == nil {
				m["retries"] = map[string]any{"attempts": int64(2)}
			}
		}
		_ = unstructured.SetNestedSlice(u.Object, http, "spec", "http")
	}
	objs := stage(t, map[string]int32{"v1": 90, "v2": 10})
	for _, tc := range []struct {
		name  string
		types managedfields.TypeConverter
		want  int // objects sent again
	}{
		{"defaults known", defaulting{managedfields.NewDeducedTypeConverter(), retries}, 0},
		{"defaults unknown (negative control)", managedfields.NewDeducedTypeConverter(), 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := serverSide(tc.types)
			c.Cluster.Default = retries
			sent(t, c, objs, apply.Options{})
			if res, n := sent(t, c, objs, apply.Options{}); n != tc.want {
				t.Fatalf("again: sent %v, want %d", sentObjects(res), tc.want)
			}
		})
	}
}

// TestCacheNeverSkipsAChange: a Cache remembers verdicts by the live
// object's UID and resourceVersion, the wanted object's hash and the
// manager; any change to one of them is compared afresh, so a stale entry
// cannot skip a changed object.
func TestCacheNeverSkipsAChange(t *testing.T) {
	objs := stage(t, map[string]int32{"v1": 90, "v2": 10})
	c := serverSide(nil)
	cache := &apply.Cache{}
	sent(t, c, objs, apply.Options{Cache: cache})
	if cache.Len() != len(objs) {
		t.Fatalf("after the first apply the cache knows %d objects, want %d", cache.Len(), len(objs))
	}
	if res, n := sent(t, c, objs, apply.Options{Cache: cache}); n != 0 {
		t.Fatalf("again: sent %v", sentObjects(res))
	}

	// The live object changes (its resourceVersion with it).
	d := get(t, c, deploymentKind, "fraud-v2")
	if err := unstructured.SetNestedField(d.Object, int64(3), "spec", "replicas"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Cluster.Update(context.Background(), d, "kubectl-edit"); err != nil {
		t.Fatal(err)
	}
	if res, n := sent(t, c, objs, apply.Options{Cache: cache, Force: true}); n != 1 || sentObjects(res)[0] != "Deployment ml/fraud-v2" {
		t.Fatalf("a live change: sent %v", sentObjects(res))
	}
	// What is wanted changes.
	moved := stage(t, map[string]int32{"v1": 0, "v2": 100})
	if res, n := sent(t, c, moved, apply.Options{Cache: cache}); n != 1 || sentObjects(res)[0] != "VirtualService ml/fraud" {
		t.Fatalf("a wanted change: sent %v", sentObjects(res))
	}
	// Another manager: the verdicts were the field manager's own.
	if res, n := sent(t, c, moved, apply.Options{Cache: cache, FieldManager: "someone-else"}); n != len(moved) {
		t.Fatalf("as another manager: sent %v, want all %d", sentObjects(res), len(moved))
	}
}

// typedLists lists Deployments as typed objects, as dynamicapply's
// protobuf Lists do.
type typedLists struct{ *counting }

func (l typedLists) List(ctx context.Context, gvk schema.GroupVersionKind, namespace string, labels map[string]string) ([]runtime.Object, error) {
	items, err := l.counting.List(ctx, gvk, namespace, labels)
	if err != nil || gvk.GroupKind() != deploymentKind.GroupKind() {
		return items, err
	}
	out := make([]runtime.Object, len(items))
	for i, item := range items {
		d := &appsv1.Deployment{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(item.(*unstructured.Unstructured).Object, d); err != nil {
			return nil, err
		}
		d.SetGroupVersionKind(gvk)
		out[i] = d
	}
	return out, nil
}

// TestTypedLiveObjects: with Kubernetes' published schemas (associative
// lists keyed as the API server keys them), Deployments listed typed are
// judged as the same Deployments listed unstructured.
func TestTypedLiveObjects(t *testing.T) {
	types, err := typeconv.New(openapitest.NewEmbeddedFileClient()).TypeConverter(context.Background(),
		[]schema.GroupVersion{{Version: "v1"}, {Group: "apps", Version: "v1"}})
	if err != nil {
		t.Fatal(err)
	}
	var objs []render.Object // the kinds those schemas describe
	for _, o := range stage(t, map[string]int32{"v1": 90, "v2": 10}) {
		if k := o.GetObjectKind().GroupVersionKind(); k == deploymentKind || k == serviceKind {
			objs = append(objs, o)
		}
	}
	for _, tc := range []struct {
		name   string
		client func(*counting) apply.Client
	}{
		{"unstructured", func(c *counting) apply.Client { return c }},
		{"typed", func(c *counting) apply.Client { return typedLists{c} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := serverSide(types)
			cl := tc.client(c)
			if _, err := apply.Apply(context.Background(), cl, objs, apply.Options{}); err != nil {
				t.Fatal(err)
			}
			res, err := apply.Apply(context.Background(), cl, objs, apply.Options{})
			if err != nil || len(sentObjects(res)) != 0 {
				t.Fatalf("again: sent %v (%v)", sentObjects(res), err)
			}
			// Another field manager owns none of it: everything is sent.
			res, err = apply.Apply(context.Background(), cl, objs, apply.Options{FieldManager: "someone-else"})
			if err != nil || len(sentObjects(res)) != len(objs) {
				t.Fatalf("as another manager: sent %v (%v), want all %d", sentObjects(res), err, len(objs))
			}
			// A container's image changed by another manager is seen.
			d := get(t, c, deploymentKind, "fraud-v1")
			containers, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
			containers[0].(map[string]any)["image"] = "example.com/other:1"
			_ = unstructured.SetNestedSlice(d.Object, containers, "spec", "template", "spec", "containers")
			if _, err := c.Cluster.Update(context.Background(), d, "kubectl-edit"); err != nil {
				t.Fatal(err)
			}
			res, err = apply.Apply(context.Background(), cl, objs, apply.Options{Force: true})
			if err != nil || len(sentObjects(res)) != 1 || sentObjects(res)[0] != "Deployment ml/fraud-v1" {
				t.Fatalf("after an image change: sent %v (%v)", sentObjects(res), err)
			}
		})
	}
}

// TestCacheAcrossProcesses: verdicts written by one process (WriteTo) and
// read by another (ReadCache) skip, with no schema read, exactly the
// objects neither side changed since; and never a changed one — a live
// change by another manager, a wanted change, new schemas, another field
// manager each make the object compared again (and sent when it differs).
// Verdicts a Client reached without naming its schemas are not written.
func TestCacheAcrossProcesses(t *testing.T) {
	objs := stage(t, map[string]int32{"v1": 90, "v2": 10})
	c := serverSide(nil)
	c.Cluster.Schema = "schemas-1"
	first := &apply.Cache{}
	sent(t, c, objs, apply.Options{Cache: first})
	// reload is what the next process reads of from; the process's own
	// Apply then keeps it current (cache = reload(cache), as a CI job
	// loads, applies and saves on every run).
	reload := func(from *apply.Cache) *apply.Cache {
		t.Helper()
		var b bytes.Buffer
		if _, err := from.WriteTo(&b); err != nil {
			t.Fatal(err)
		}
		got, err := apply.ReadCache(&b)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	cache := reload(first)
	if cache.Len() != len(objs) {
		t.Fatalf("read back %d verdicts, want %d", cache.Len(), len(objs))
	}
	before := c.Counts()
	if res, n := sent(t, c, objs, apply.Options{Cache: cache}); n != 0 {
		t.Fatalf("again, from the file: sent %v", sentObjects(res))
	}
	if got := c.Counts().Schemas - before.Schemas; got != 0 {
		t.Errorf("every verdict held, yet the schemas were read %d times", got)
	}

	// The live object changes, another manager taking a field mlmesh owns.
	d := get(t, c, deploymentKind, "fraud-v2")
	if err := unstructured.SetNestedField(d.Object, int64(3), "spec", "replicas"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Cluster.Update(context.Background(), d, "kubectl-edit"); err != nil {
		t.Fatal(err)
	}
	cache = reload(cache)
	if res, n := sent(t, c, objs, apply.Options{Cache: cache, Force: true}); n != 1 || sentObjects(res)[0] != "Deployment ml/fraud-v2" {
		t.Fatalf("a live change: sent %v", sentObjects(res))
	}
	// What is wanted changes.
	moved := stage(t, map[string]int32{"v1": 0, "v2": 100})
	cache = reload(cache)
	if res, n := sent(t, c, moved, apply.Options{Cache: cache}); n != 1 || sentObjects(res)[0] != "VirtualService ml/fraud" {
		t.Fatalf("a wanted change: sent %v", sentObjects(res))
	}
	// The server's schemas change: every object is compared again (as
	// wanted still, so none is sent).
	before = c.Counts()
	cache = reload(cache)
	if res, n := sent(t, c, moved, apply.Options{Cache: cache}); n != 0 || c.Counts().Schemas != before.Schemas {
		t.Fatalf("unchanged, from the file: sent %v, schemas read %d times", sentObjects(res), c.Counts().Schemas-before.Schemas)
	}
	c.Cluster.Schema = "schemas-2"
	before = c.Counts()
	cache = reload(cache)
	if res, n := sent(t, c, moved, apply.Options{Cache: cache}); n != 0 || c.Counts().Schemas == before.Schemas {
		t.Fatalf("new schemas: sent %v, schemas read %d times: the verdicts were taken as they were", sentObjects(res), c.Counts().Schemas-before.Schemas)
	}
	// Another field manager.
	if res, n := sent(t, c, moved, apply.Options{Cache: reload(cache), FieldManager: "someone-else"}); n != len(moved) {
		t.Fatalf("as another manager: sent %v, want all %d", sentObjects(res), len(moved))
	}

	// A Client that names no schemas: its verdicts stay in the process.
	c.Cluster.Schema = ""
	mem := &apply.Cache{}
	sent(t, c, moved, apply.Options{Cache: mem})
	if mem.Len() == 0 || reload(mem).Len() != 0 {
		t.Errorf("verdicts by the TypeConverter alone: %d kept, %d written", mem.Len(), reload(mem).Len())
	}

	// Save and LoadCache: no file yet is an empty Cache; a file is read
	// back whole; anything else is refused.
	path := filepath.Join(t.TempDir(), "apply-cache.json")
	if got, err := apply.LoadCache(path); err != nil || got.Len() != 0 {
		t.Fatalf("no file yet: %d verdicts, %v", got.Len(), err)
	}
	if err := cache.Save(path); err != nil {
		t.Fatal(err)
	}
	if got, err := apply.LoadCache(path); err != nil || got.Len() != cache.Len() {
		t.Fatalf("saved and loaded: %d verdicts of %d, %v", got.Len(), cache.Len(), err)
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("Save left %d files, want 1", len(entries))
	}
	for _, bad := range []string{`{"format":"something/v9","verdicts":[]}`, `{"format":"mlmesh.dev/apply-cache/v1","verdicts":[{"object":"x","want":"zz"}]}`, `not json`} {
		if _, err := apply.ReadCache(strings.NewReader(bad)); err == nil {
			t.Errorf("read %s", bad)
		}
	}
}
