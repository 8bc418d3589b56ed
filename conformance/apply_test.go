package conformance

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mlmesh/mlmesh/apply"
	"github.com/mlmesh/mlmesh/apply/applytest"
	"github.com/mlmesh/mlmesh/apply/crapply"
	"github.com/mlmesh/mlmesh/apply/dynamicapply"
	"github.com/mlmesh/mlmesh/internal/meshcheck"
	"github.com/mlmesh/mlmesh/internal/order"
	"github.com/mlmesh/mlmesh/internal/scenarios"
	"github.com/mlmesh/mlmesh/mesh"
	"github.com/mlmesh/mlmesh/render"
	"github.com/mlmesh/mlmesh/routing"
	"github.com/mlmesh/mlmesh/serving"
)

func dynamicClient(s *APIServer) *dynamicapply.Client {
	return dynamicapply.New(s.Dynamic, s.Mapper).WithSchemas(s.OpenAPI)
}

// typedClient is dynamicapply's Client from NewForConfig, which lists
// Kubernetes' own kinds over protobuf and hands them to render typed.
func typedClient(t *testing.T, s *APIServer) *dynamicapply.Client {
	a, err := dynamicapply.NewForConfig(s.Config)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func crClient(t *testing.T, s *APIServer) *crapply.Client {
	c, err := client.New(s.Config, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return crapply.New(c).WithSchemas(s.OpenAPI)
}

// scenarioKey is a scenario in a dialect.
type scenarioKey struct {
	name string
	api  mesh.API
}

// scenarioApps is every scenario in both dialects, and in an ambient
// namespace (the Gateway API dialect's).
func scenarioApps() map[scenarioKey]func(bool, mesh.API) mesh.App {
	out := map[scenarioKey]func(bool, mesh.API) mesh.App{}
	for name, app := range scenarios.ByName {
		out[scenarioKey{name, mesh.IstioAPI}] = app
		out[scenarioKey{name + ".gateway", mesh.GatewayAPI}] = app
		out[scenarioKey{name + ".ambient", mesh.GatewayAPI}] = func(promote bool, api mesh.API) mesh.App {
			return scenarios.Ambient(app(promote, api))
		}
	}
	return out
}

// TestApplyExamples applies every scenario, in every dialect, through the
// adapters (dynamicapply's New and NewForConfig, whose Lists of
// Kubernetes' own kinds are protobuf and compared typed, and crapply):
// nothing is rejected, and a second Apply reports every object unchanged
// without sending it.
func TestApplyExamples(t *testing.T) {
	s := apiServer(t)
	ctx := context.Background()
	for _, adapter := range []struct {
		name string
		a    apply.Client
	}{{"dynamic", dynamicClient(s)}, {"protobuf", typedClient(t, s)}, {"controller-runtime", crClient(t, s)}} {
		for key, app := range scenarioApps() {
			name := key.name
			objs, err := mesh.Build(app(false, key.api))
			if err != nil && key.api == mesh.GatewayAPI {
				continue // a scenario Gateway API cannot express (scenarios.TestDialectGolden)
			}
			if err != nil {
				t.Fatal(err)
			}
			// Both adapters apply as the default field manager: two managers
			// setting different values on one field conflict by design.
			if _, err := apply.Apply(ctx, adapter.a, objs, apply.Options{}); err != nil {
				t.Errorf("%s %s: %v", adapter.name, name, err)
				continue
			}
			res, err := apply.Apply(ctx, adapter.a, objs, apply.Options{})
			if err != nil {
				t.Errorf("%s %s: second apply: %v", adapter.name, name, err)
				continue
			}
			if n := len(res.With(apply.Unchanged)); n != len(objs) {
				t.Errorf("%s %s: second apply: %d of %d unchanged: %v", adapter.name, name, n, len(objs), res.Objects)
			}
			for _, r := range res.Objects {
				if !r.Skipped {
					t.Errorf("%s %s: second apply: %s sent again", adapter.name, name, r.Object)
				}
			}
		}
	}
}

// liveObjects lists what the API server holds in a namespace, of the kinds
// routes depend on.
func liveObjects(t *testing.T, s *APIServer, ns string) []*unstructured.Unstructured {
	t.Helper()
	a := dynamicClient(s)
	var out []*unstructured.Unstructured
	for _, gvk := range order.Built {
		list, err := a.List(context.Background(), gvk, ns, nil)
		if err != nil {
			t.Fatalf("listing %s: %v", gvk.Kind, err)
		}
		for _, obj := range list {
			u := obj.(*unstructured.Unstructured) // New's Client lists every kind unstructured
			u.SetGroupVersionKind(gvk)
			out = append(out, u)
		}
	}
	return out
}

func stageObjects(t *testing.T, ns string, weights map[string]int32) []render.Object {
	t.Helper()
	return build(t, stageApp(ns, weights))
}

// stageApp is the App of model fraud with the versions and weights given.
func stageApp(ns string, weights map[string]int32) mesh.App {
	m := mesh.Model{Model: serving.Model{Name: "fraud"}, Traffic: mesh.Traffic{Rules: []routing.Rule{{Split: routing.SplitOf(weights)}}}}
	for _, d := range routing.SplitOf(weights) {
		m.Versions = append(m.Versions, serving.Version{Name: d.Subset, ModelURI: "s3://m/" + d.Subset})
	}
	return mesh.App{Namespace: mesh.Namespace{Name: ns}, Models: []mesh.Model{m}}
}

// TestTransitionOnAPIServer runs canary, promotion and removal of the old
// version on the API server, and after every single step lists what it
// holds: no route may name a host, subset or pods that do not exist then.
func TestTransitionOnAPIServer(t *testing.T) {
	s := apiServer(t)
	ctx := context.Background()
	a := dynamicClient(s)
	const ns = "rollout"
	stages := []map[string]int32{{"v1": 100}, {"v1": 90, "v2": 10}, {"v1": 0, "v2": 100}, {"v2": 100}}
	steps := 0
	for i, st := range stages {
		wanted := stageObjects(t, ns, st)
		before, err := apply.Managed(ctx, a, ns)
		if err != nil {
			t.Fatal(err)
		}
		opts := apply.TransitionOptions{Options: apply.Options{Progress: func(r apply.ObjectResult) {
			steps++
			if d := meshcheck.Dangling(liveObjects(t, s, ns)); len(d) > 0 {
				t.Errorf("stage %d, after %s: %s", i, r, strings.Join(d, "; "))
			}
		}}}
		if _, err := apply.Transition(ctx, a, before, wanted, opts); err != nil {
			t.Fatalf("stage %d: %v", i, err)
		}
	}
	live := liveObjects(t, s, ns)
	for _, o := range live {
		if o.GetName() == "fraud-v1" {
			t.Errorf("%s survived its removal", meshcheck.Describe([]*unstructured.Unstructured{o}))
		}
	}
	t.Logf("transition: %d steps checked on the API server", steps)
}

// failAt wraps a Client so that its k-th Apply fails.
type failAt struct {
	*dynamicapply.Client
	k int
	n atomic.Int64
}

func (f *failAt) Apply(ctx context.Context, u *unstructured.Unstructured, opts apply.PatchOptions) (*unstructured.Unstructured, error) {
	if int(f.n.Add(1)) == f.k {
		return nil, fmt.Errorf("injected failure at object %d", f.k)
	}
	return f.Client.Apply(ctx, u, opts)
}

// TestFailureAtEveryObject fails the k-th object of a scenario, for every
// k, on a fresh namespace each time, one object at a time: the next Apply
// converges.
func TestFailureAtEveryObject(t *testing.T) {
	s := apiServer(t)
	ctx := context.Background()
	base := stageObjects(t, "fail-x", map[string]int32{"v1": 90, "v2": 10})
	for k := 1; k <= len(base); k++ {
		ns := fmt.Sprintf("fail-%d", k)
		objs := stageObjects(t, ns, map[string]int32{"v1": 90, "v2": 10})
		f := &failAt{Client: dynamicClient(s), k: k}
		_, err := apply.Apply(ctx, f, objs, apply.Options{Workers: 1})
		var ae *apply.Error
		if !errors.As(err, &ae) || len(ae.Result.With(apply.Created)) != k-1 {
			t.Fatalf("k=%d: want an *ApplyError after %d created, got %v", k, k-1, err)
		}
		if _, err := apply.Apply(ctx, dynamicClient(s), objs, apply.Options{}); err != nil {
			t.Fatalf("k=%d: apply after the failure: %v", k, err)
		}
		res, err := apply.Apply(ctx, dynamicClient(s), objs, apply.Options{})
		if err != nil || len(res.With(apply.Unchanged)) != len(objs) {
			t.Errorf("k=%d: not converged: %v %v", k, err, res.Objects)
		}
	}
}

// TestFailureMidRank fails one Deployment of forty sent side by side, on
// the real API server: what the result says was done is stored, what it
// says failed or was not attempted is not, no object of a later rank was
// attempted, and the next Apply converges.
func TestFailureMidRank(t *testing.T) {
	s := apiServer(t)
	ctx := context.Background()
	for _, k := range []int{25, 40} { // among the 40 Deployments (calls 22-61)
		ns := fmt.Sprintf("midrank-%d", k)
		objs := build(t, manyModels(ns, 20))
		f := &failAt{Client: dynamicClient(s), k: k}
		res, err := apply.Apply(ctx, f, objs, apply.Options{Workers: 6})
		var ae *apply.Error
		if !errors.As(err, &ae) || ae.Failed.GVK.Kind != "Deployment" {
			t.Fatalf("call %d: want a Deployment's injected failure, got %v", k, err)
		}
		stored := map[string]bool{}
		for _, u := range liveObjects(t, s, ns) {
			stored[meshcheck.Describe([]*unstructured.Unstructured{u})] = true
		}
		notAttempted := 0
		for _, r := range res.Objects {
			done := r.Outcome == apply.Created
			if done != stored[r.Object] && r.GVK.Kind != "Namespace" {
				t.Errorf("call %d: %s reported %s; stored: %v", k, r.Object, r.Outcome, stored[r.Object])
			}
			if r.Outcome == apply.NotAttempted {
				notAttempted++
			}
			if (r.GVK.Kind == "DestinationRule" || r.GVK.Kind == "VirtualService") && r.Outcome != apply.NotAttempted {
				t.Errorf("call %d: %s attempted after a Deployment failed", k, r)
			}
		}
		if notAttempted == 0 || !strings.Contains(err.Error(), "not attempted (") {
			t.Errorf("call %d: nothing reported not attempted: %v", k, err)
		}
		t.Logf("call %d: %v", k, firstLine(err.Error(), 200))
		if _, err := apply.Apply(ctx, dynamicClient(s), objs, apply.Options{}); err != nil {
			t.Fatalf("call %d: apply after the failure: %v", k, err)
		}
		res, err = apply.Apply(ctx, dynamicClient(s), objs, apply.Options{})
		if err != nil || len(res.With(apply.Unchanged)) != len(objs) {
			t.Errorf("call %d: not converged: %v", k, err)
		}
	}
}

func firstLine(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// TestAPIServerStopsMidApply stops the API server after the third object:
// Apply fails clearly, and once the server is back an Apply converges.
func TestAPIServerStopsMidApply(t *testing.T) {
	s := apiServer(t)
	ctx := context.Background()
	objs := stageObjects(t, "outage", map[string]int32{"v1": 50, "v2": 50})
	n := 0
	_, err := apply.Apply(ctx, dynamicClient(s), objs, apply.Options{Progress: func(r apply.ObjectResult) {
		if n++; n == 3 {
			s.StopAPIServer()
		}
	}})
	var ae *apply.Error
	if !errors.As(err, &ae) {
		t.Fatalf("want an *ApplyError, got %v", err)
	}
	t.Logf("with the API server down: %v", err)
	if !strings.Contains(err.Error(), ae.Failed.Object+" failed") || !strings.Contains(err.Error(), "not attempted") {
		t.Errorf("the error does not say what failed and what was not attempted: %v", err)
	}
	if err := s.RestartAPIServer(); err != nil {
		t.Fatal(err)
	}
	if _, err := apply.Apply(ctx, dynamicClient(s), objs, apply.Options{}); err != nil {
		t.Fatalf("apply after the restart: %v", err)
	}
	res, err := apply.Apply(ctx, dynamicClient(s), objs, apply.Options{})
	if err != nil || len(res.With(apply.Unchanged)) != len(objs) {
		t.Errorf("not converged after the restart: %v %v", err, res.Objects)
	}
}

// TestConflictAndForce: a field owned by another manager (a GitOps tool
// setting weights) makes Apply fail with a *ConflictError naming the field;
// Force takes it.
func TestConflictAndForce(t *testing.T) {
	s := apiServer(t)
	ctx := context.Background()
	a := dynamicClient(s)
	ours := stageObjects(t, "conflict", map[string]int32{"v1": 90, "v2": 10})
	theirs := stageObjects(t, "conflict", map[string]int32{"v1": 50, "v2": 50})
	if _, err := apply.Apply(ctx, a, theirs, apply.Options{FieldManager: "argocd"}); err != nil {
		t.Fatal(err)
	}
	_, err := apply.Apply(ctx, a, ours, apply.Options{})
	var ce *apply.ConflictError
	if !errors.As(err, &ce) {
		t.Fatalf("want a *ConflictError, got %v", err)
	}
	// Istio's CRDs make spec.http an atomic list: the manager that set a
	// weight owns every route, and the server names .spec.http.
	if !strings.Contains(err.Error(), `"argocd"`) || !strings.Contains(err.Error(), ".spec.http") {
		t.Errorf("the conflict does not name the manager and the field: %v", err)
	}
	t.Logf("conflict: %v", err)
	if _, err := apply.Apply(ctx, a, ours, apply.Options{Force: true}); err != nil {
		t.Fatalf("with Force: %v", err)
	}
	vs, err := a.Get(ctx, schema.GroupVersionKind{Group: "networking.istio.io", Version: "v1", Kind: "VirtualService"}, "conflict", "fraud")
	if err != nil {
		t.Fatal(err)
	}
	if y, _ := render.MarshalYAML(vs); !strings.Contains(string(y), "weight: 90") {
		t.Errorf("after Force the weights are not ours:\n%s", y)
	}
}

// TestApplyCommand runs examples/apply against the API server.
func TestApplyCommand(t *testing.T) {
	s := apiServer(t)
	kc, err := s.Kubeconfig()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "apply")
	build := exec.Command("go", "build", "-o", bin, "./examples/apply")
	build.Dir = RepoRoot()
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building examples/apply: %v\n%s", err, out)
	}
	runCmd := func(args ...string) string {
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "KUBECONFIG="+kc)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("apply %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	first := runCmd("-scenario", "algorithm-selector")
	if !strings.Contains(first, "VirtualService algorithm-selector/algo-selector") {
		t.Errorf("no line for the VirtualService:\n%s", first)
	}
	promoted := runCmd("-scenario", "algorithm-selector", "-promote", "-dry-run")
	if !strings.Contains(promoted, "VirtualService algorithm-selector/algo-selector configured (dry run)") || !strings.Contains(promoted, "+      weight: 100") {
		t.Errorf("the promotion's dry run does not show the change:\n%s", promoted)
	}
	again := runCmd("-scenario", "algorithm-selector")
	for _, line := range strings.Split(strings.TrimSpace(again), "\n") {
		if !strings.HasSuffix(line, " unchanged") {
			t.Errorf("applying again: %q", line)
		}
	}
}

// TestAdapterContract holds both adapters to what render asks of them on
// the real API server: an unknown field is rejected (strict field
// validation), and deleting an object that does not exist is not an error.
func TestAdapterContract(t *testing.T) {
	s := apiServer(t)
	ctx := context.Background()
	ns, _ := ParseBundle("ns", []byte("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: neg\n"))
	if _, err := s.Apply(ctx, ns.Objects[0]); err != nil {
		t.Fatal(err)
	}
	bad := brokenVS(t, unknownField).Objects[0]
	for _, adapter := range []struct {
		name string
		a    apply.Client
	}{{"dynamic", dynamicClient(s)}, {"controller-runtime", crClient(t, s)}} {
		if _, err := adapter.a.Apply(ctx, bad.DeepCopy(), apply.PatchOptions{FieldManager: "contract"}); err == nil {
			t.Errorf("%s: a VirtualService with an unknown field was applied", adapter.name)
		} else if !strings.Contains(err.Error(), "canaryWeight") {
			t.Errorf("%s: the error does not name the unknown field: %v", adapter.name, err)
		}
		gvk := schema.GroupVersionKind{Group: "networking.istio.io", Version: "v1", Kind: "VirtualService"}
		if err := adapter.a.Delete(ctx, gvk, "neg", "never-created", apply.DeleteOptions{}); err != nil {
			t.Errorf("%s: deleting a missing object: %v", adapter.name, err)
		}
	}
}

// TestApplyReadsByList: on the real API server, Apply reads the live
// objects with one List per kind and namespace (no Get per object) and
// reports what the Get-per-object path reports. It logs the requests and
// times of both for an App of 100 models (figures, not assertions).
func TestApplyReadsByList(t *testing.T) {
	s := apiServer(t)
	ctx := context.Background()
	objs := build(t, manyModels("by-list", 100))
	kinds := map[string]bool{}
	for _, o := range objs {
		kinds[o.GetObjectKind().GroupVersionKind().Kind+"/"+o.GetNamespace()] = true
	}
	run := func(name string, a apply.Client, r *applytest.Counter, want apply.Outcome) {
		t.Helper()
		before := r.Counts()
		start := time.Now()
		res, err := apply.Apply(ctx, a, objs, apply.Options{})
		took := time.Since(start)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if n := len(res.With(want)); n != len(objs) {
			t.Errorf("%s: %d of %d %s", name, n, len(objs), want)
		}
		t.Logf("%s: %d objects in %v: %d applies, %d gets, %d lists", name, len(objs), took.Round(time.Millisecond),
			r.Counts().Applies-before.Applies, r.Counts().Gets-before.Gets, r.Counts().Lists-before.Lists)
	}
	r := applytest.NewCounter(dynamicClient(s))
	run("first apply, by List", r, r, apply.Created)
	if r.Counts().Gets != 0 || r.Counts().Lists > len(kinds) {
		t.Errorf("first apply: %d gets and %d lists for %d kinds and namespaces", r.Counts().Gets, r.Counts().Lists, len(kinds))
	}
	run("again, by List", r, r, apply.Unchanged)
	r.ListForbidden = true // as for a role that may get but not list
	run("again, by Get", r, r, apply.Unchanged)
	r.ListForbidden = false
	if r.Counts().Gets != len(objs) {
		t.Errorf("the Get path made %d gets for %d objects", r.Counts().Gets, len(objs))
	}
}

// manyModels is an App of n two-version models at 90/10.
func manyModels(ns string, n int) mesh.App {
	app := mesh.App{Namespace: mesh.Namespace{Name: ns}}
	for i := range n {
		app.Models = append(app.Models, mesh.Model{
			Model: serving.Model{Name: fmt.Sprintf("m%03d", i), Versions: []serving.Version{
				{Name: "v1", ModelURI: "s3://m/1"}, {Name: "v2", ModelURI: "s3://m/2"}}},
			Traffic: mesh.Traffic{Rules: []routing.Rule{{Split: routing.SplitOf(map[string]int32{"v1": 90, "v2": 10})}}},
		})
	}
	return app
}

func build(t *testing.T, app mesh.App) []render.Object {
	t.Helper()
	objs, err := mesh.Build(app)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// TestSkipWhatIsAlreadySo: on the real API server, Apply sends only the
// objects whose owned fields differ from what is wanted. A skipped object
// really matched; a change, a field dropped, an object deleted or a field
// another manager took are sent again; a field only another manager owns
// does not make an object differ; conflicts still surface; SendAll sends
// everything.
func TestSkipWhatIsAlreadySo(t *testing.T) {
	s := apiServer(t)
	t.Run("compared each time", func(t *testing.T) { skipWhatIsAlreadySo(t, s, dynamicClient(s), "skip", nil) })
	// Kubernetes' own kinds listed over protobuf are compared typed: the
	// same objects must be sent.
	t.Run("typed", func(t *testing.T) { skipWhatIsAlreadySo(t, s, typedClient(t, s), "skip-typed", nil) })
	// A Cache kept across the calls must send exactly the same objects.
	cache := &apply.Cache{}
	t.Run("with a Cache", func(t *testing.T) { skipWhatIsAlreadySo(t, s, dynamicClient(s), "skip-cached", cache) })
	if n := cache.Len(); n < 100 {
		t.Errorf("the cache knows %d objects", n)
	}
}

func skipWhatIsAlreadySo(t *testing.T, s *APIServer, a *dynamicapply.Client, ns string, cache *apply.Cache) {
	ctx := context.Background()
	r := applytest.NewCounter(a)
	step := func(name string, app mesh.App, opts apply.Options, wantApplies int) apply.Result {
		t.Helper()
		before := r.Counts().Applies
		opts.Cache = cache
		res, err := apply.Apply(ctx, r, build(t, app), opts)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if n := r.Counts().Applies - before; n != wantApplies {
			var sent []string
			for _, o := range res.Objects {
				if !o.Skipped {
					sent = append(sent, o.String())
				}
			}
			t.Errorf("%s: %d objects sent, want %d: %v", name, n, wantApplies, sent)
		}
		return res
	}
	gvk := func(group, kind string) schema.GroupVersionKind {
		return schema.GroupVersionKind{Group: group, Version: "v1", Kind: kind}
	}
	app := manyModels(ns, 20)
	all := len(build(t, app))
	step("first apply", app, apply.Options{}, all)
	res := step("again", app, apply.Options{}, 0)
	if n := len(res.With(apply.Unchanged)); n != all {
		t.Errorf("again: %d of %d unchanged", n, all)
	}
	// The skipped objects really are as wanted: the API server agrees.
	dry, err := apply.Apply(ctx, dynamicapply.New(s.Dynamic, s.Mapper), build(t, app), apply.Options{DryRun: true})
	if err != nil || len(dry.With(apply.Unchanged)) != all {
		t.Errorf("a dry run of every object finds changes: %v %v", err, dry.With(apply.Configured))
	}

	// One model's weights change: its VirtualService alone is sent.
	app.Models[7].Traffic.Rules = []routing.Rule{{Split: routing.SplitOf(map[string]int32{"v1": 50, "v2": 50})}}
	res = step("one weight changed", app, apply.Options{}, 1)
	if c := res.With(apply.Configured); len(c) != 1 || c[0].Object != "VirtualService "+ns+"/m007" {
		t.Errorf("one weight changed: configured %v", c)
	}

	// A field only another manager owns does not make the object differ.
	other := dynamicapply.New(s.Dynamic, s.Mapper)
	note := &unstructured.Unstructured{}
	note.SetGroupVersionKind(gvk("", "Service"))
	note.SetNamespace(ns)
	note.SetName("m003")
	note.SetAnnotations(map[string]string{"example.com/owner": "team-a"})
	if _, err := other.Apply(ctx, note, apply.PatchOptions{FieldManager: "annotator"}); err != nil {
		t.Fatal(err)
	}
	step("another manager's annotation", app, apply.Options{}, 0)

	// A deleted object is created again.
	if err := other.Delete(ctx, gvk("apps", "Deployment"), ns, "m009-v1", apply.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	res = step("a Deployment deleted", app, apply.Options{}, 1)
	if c := res.With(apply.Created); len(c) != 1 || c[0].Object != "Deployment "+ns+"/m009-v1" {
		t.Errorf("a Deployment deleted: created %v", c)
	}

	// A field dropped from the App is sent, and leaves the live object.
	app.Models[11].Labels = map[string]string{"team": "a"}
	// A dry run first: the live objects it diffs against were listed
	// typed on the protobuf path.
	res = step("a label added, dry run", app, apply.Options{DryRun: true}, 3)
	for _, c := range res.With(apply.Configured) {
		if !strings.Contains(c.Diff, "+    team: a") || strings.Contains(c.Diff, "+kind:") {
			t.Errorf("dry run: %s: want a diff of the label alone:\n%s", c.Object, c.Diff)
		}
	}
	if n := len(res.With(apply.Configured)); n != 3 {
		t.Errorf("dry run: %d configured, want 3: %v", n, res.With(apply.Configured))
	}
	step("a label added", app, apply.Options{}, 3) // the Service and two Deployments carry it
	app.Models[11].Labels = nil
	step("the label dropped", app, apply.Options{}, 3)
	svc, err := other.Get(ctx, gvk("", "Service"), ns, "m011")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := svc.GetLabels()["team"]; ok {
		t.Error("the dropped label is still on the Service")
	}

	// A field another manager took is sent: the conflict surfaces, and
	// Force takes it back; then the object is skipped again.
	theirs := manyModels(ns, 20)
	theirs.Models[5].Traffic.Rules = []routing.Rule{{Split: routing.SplitOf(map[string]int32{"v1": 0, "v2": 100})}}
	for _, o := range build(t, theirs) {
		if render.Describe(o) == "VirtualService "+ns+"/m005" {
			if _, err := apply.Apply(ctx, other, []render.Object{o}, apply.Options{FieldManager: "argocd", Force: true}); err != nil {
				t.Fatal(err)
			}
		}
	}
	before := r.Counts().Applies
	_, err = apply.Apply(ctx, r, build(t, app), apply.Options{Cache: cache})
	var ce *apply.ConflictError
	if !errors.As(err, &ce) || r.Counts().Applies-before != 1 {
		t.Fatalf("a taken field: want one object sent and a *ConflictError, got %d sent and %v", r.Counts().Applies-before, err)
	}
	step("Force", app, apply.Options{Force: true}, 1)
	step("after Force", app, apply.Options{}, 0)

	// A Deployment's image changed by an update (kubectl set image, an
	// editor), which takes the field from mlmesh: sent, and the conflict
	// surfaces; Force restores the image.
	d, err := other.Get(ctx, gvk("apps", "Deployment"), ns, "m004-v1")
	if err != nil {
		t.Fatal(err)
	}
	containers, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
	image := containers[0].(map[string]any)["image"]
	containers[0].(map[string]any)["image"] = "example.com/patched:1"
	if err := unstructured.SetNestedSlice(d.Object, containers, "spec", "template", "spec", "containers"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Dynamic.Resource(schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}).Namespace(ns).
		Update(ctx, d, metav1.UpdateOptions{FieldManager: "kubectl-set"}); err != nil {
		t.Fatal(err)
	}
	before = r.Counts().Applies
	_, err = apply.Apply(ctx, r, build(t, app), apply.Options{Cache: cache})
	if !errors.As(err, &ce) || r.Counts().Applies-before != 1 || !strings.Contains(ce.Error(), "m004-v1") {
		t.Fatalf("an updated image: want one object sent and a *ConflictError on m004-v1, got %d sent and %v", r.Counts().Applies-before, err)
	}
	step("Force the image back", app, apply.Options{Force: true}, 1)
	d, err = other.Get(ctx, gvk("apps", "Deployment"), ns, "m004-v1")
	if err != nil {
		t.Fatal(err)
	}
	if containers, _, _ = unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers"); containers[0].(map[string]any)["image"] != image {
		t.Errorf("after Force the image is %v, want %v", containers[0].(map[string]any)["image"], image)
	}
	step("after forcing the image", app, apply.Options{}, 0)

	// SendAll sends everything, which changes nothing.
	res = step("SendAll", app, apply.Options{SendAll: true}, all)
	if n := len(res.With(apply.Unchanged)); n != all {
		t.Errorf("SendAll: %d of %d unchanged", n, all)
	}
}

// TestTypedListsMatchDynamic: the Client of dynamicapply.NewForConfig
// lists Kubernetes' own kinds over protobuf; what it returns equals what
// the dynamic client decodes from JSON, and Apply through it skips, on the
// second apply, every object the first applied.
func TestTypedListsMatchDynamic(t *testing.T) {
	s := apiServer(t)
	ctx := context.Background()
	const ns = "typed-lists"
	objs := build(t, manyModels(ns, 10))
	typed, err := dynamicapply.NewForConfig(s.Config)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := apply.Apply(ctx, typed, objs, apply.Options{}); err != nil {
		t.Fatal(err)
	}
	plain := dynamicClient(s)
	for _, gvk := range order.Built {
		listed, err := typed.List(ctx, gvk, ns, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, isTyped := scheme.Scheme.New(gvk); isTyped == nil && len(listed) > 0 {
			if _, un := listed[0].(*unstructured.Unstructured); un {
				t.Errorf("%s: listed unstructured, not typed over protobuf", gvk.Kind)
			}
		}
		a, err := apply.Managed(ctx, typed, ns, gvk)
		if err != nil {
			t.Fatal(err)
		}
		b, err := apply.Managed(ctx, plain, ns, gvk)
		if err != nil {
			t.Fatal(err)
		}
		if len(a) != len(b) || len(a) != len(listed) {
			t.Fatalf("%s: %d by protobuf, %d by JSON, %d listed", gvk.Kind, len(a), len(b), len(listed))
		}
		byName := map[string]*unstructured.Unstructured{}
		for _, o := range b {
			byName[o.GetName()] = o.(*unstructured.Unstructured)
		}
		for _, o := range a {
			u := o.(*unstructured.Unstructured)
			if d := cmp.Diff(byName[u.GetName()].Object, u.Object); d != "" {
				t.Errorf("%s %s differs (-JSON +protobuf):\n%s", gvk.Kind, u.GetName(), d)
			}
		}
	}
	res, err := apply.Apply(ctx, typed, objs, apply.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res.Objects {
		if !r.Skipped {
			t.Errorf("%s sent again", r)
		}
	}
}

// TestSkipGatewayRoutes: the API server sets the defaults of the Gateway
// API's schemas (a backendRef's group, kind and weight, a rule's match
// of every path) inside atomic lists, which an apply owns whole. An
// HTTPRoute applied again is still skipped, on both dynamicapply paths;
// a change inside those lists, and a field dropped from them, are sent;
// a server-side dry run agrees that what was skipped is as wanted; and a
// Gateway is not sent again for a defaulted field outside what mlmesh
// applies (a listener's allowedRoutes) that another manager set otherwise.
func TestSkipGatewayRoutes(t *testing.T) {
	s := apiServer(t)
	ctx := context.Background()
	for _, adapter := range []struct {
		name string
		a    *dynamicapply.Client
	}{{"dynamic", dynamicClient(s)}, {"protobuf", typedClient(t, s)}} {
		ns := "skip-routes-" + adapter.name
		r := applytest.NewCounter(adapter.a)
		sent := func(step string, app mesh.App) []string {
			t.Helper()
			res, err := apply.Apply(ctx, r, build(t, app), apply.Options{})
			if err != nil {
				t.Fatalf("%s %s: %v", adapter.name, step, err)
			}
			var out []string
			for _, o := range res.Objects {
				if !o.Skipped {
					out = append(out, o.Object)
				}
			}
			return out
		}
		app := manyModels(ns, 3)
		app.API = mesh.GatewayAPI
		app.Models[1].Traffic.Rules[0].Timeout = 3 * time.Second
		if got := sent("first apply", app); len(got) != len(build(t, app)) {
			t.Fatalf("%s: first apply sent %d of %d", adapter.name, len(got), len(build(t, app)))
		}
		if got := sent("again", app); len(got) != 0 {
			t.Errorf("%s: applied again, sent %v", adapter.name, got)
		}
		dry, err := apply.Apply(ctx, dynamicapply.New(s.Dynamic, s.Mapper), build(t, app), apply.Options{DryRun: true})
		if err != nil || len(dry.With(apply.Configured)) != 0 {
			t.Errorf("%s: a dry run of every object finds changes: %v %v", adapter.name, err, dry.With(apply.Configured))
		}
		routes := func(model string) (out []string) {
			for _, o := range build(t, app) {
				if d := render.Describe(o); o.GetObjectKind().GroupVersionKind().Kind == "HTTPRoute" && strings.HasPrefix(o.GetName(), model) {
					out = append(out, d)
				}
			}
			sort.Strings(out)
			return out
		}
		check := func(step string, want []string) {
			t.Helper()
			got := sent(step, app)
			sort.Strings(got)
			if !slices.Equal(got, want) {
				t.Errorf("%s: %s: sent %v, want %v", adapter.name, step, got, want)
			}
		}
		// A weight inside a backendRef, in the atomic rules.
		app.Models[0].Traffic.Rules = []routing.Rule{{Split: routing.SplitOf(map[string]int32{"v1": 50, "v2": 50})}}
		check("one weight changed", routes("m000"))
		// A timeout dropped from a rule, which has no default to fall back on.
		app.Models[1].Traffic.Rules[0].Timeout = 0
		check("a timeout dropped", routes("m001"))
		check("again", nil)
		// A default outside what mlmesh applies, in a list keyed by name,
		// that another manager set otherwise: the object is not sent.
		gw := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
			"metadata": map[string]any{"name": "edge", "namespace": ns},
			"spec": map[string]any{"gatewayClassName": "istio", "listeners": []any{
				map[string]any{"name": "http", "port": int64(80), "protocol": "HTTP"}}},
		}}
		edge := func(step string, want int) {
			t.Helper()
			before := r.Counts().Applies
			if _, err := apply.Apply(ctx, r, []render.Object{gw}, apply.Options{}); err != nil {
				t.Fatalf("%s: %s: %v", adapter.name, step, err)
			}
			if n := r.Counts().Applies - before; n != want {
				t.Errorf("%s: %s: %d sent, want %d", adapter.name, step, n, want)
			}
		}
		edge("a Gateway", 1)
		edge("the Gateway again", 0)
		platform := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
			"metadata": map[string]any{"name": "edge", "namespace": ns},
			"spec": map[string]any{"listeners": []any{map[string]any{"name": "http", "port": int64(80), "protocol": "HTTP",
				"allowedRoutes": map[string]any{"namespaces": map[string]any{"from": "All"}}}}},
		}}
		if _, err := adapter.a.Apply(ctx, platform, apply.PatchOptions{FieldManager: "platform"}); err != nil {
			t.Fatal(err)
		}
		edge("the Gateway, another manager's allowedRoutes", 0)
		for _, route := range routes("m001") {
			name := strings.TrimPrefix(route, "HTTPRoute "+ns+"/")
			live, err := adapter.a.Get(ctx, schema.GroupVersionKind{Group: "gateway.networking.k8s.io", Version: "v1", Kind: "HTTPRoute"}, ns, name)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(fmt.Sprint(live.Object["spec"]), "timeouts") {
				t.Errorf("%s: %s still has a timeout: %v", adapter.name, name, live.Object["spec"])
			}
		}
	}
}
