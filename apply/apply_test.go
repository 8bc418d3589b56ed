package apply_test

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/mlmesh/mlmesh/apply"
	"github.com/mlmesh/mlmesh/apply/applytest"
	"github.com/mlmesh/mlmesh/internal/meshcheck"
	"github.com/mlmesh/mlmesh/mesh"
	"github.com/mlmesh/mlmesh/render"
	"github.com/mlmesh/mlmesh/routing"
	"github.com/mlmesh/mlmesh/serving"
)

// stage returns the objects of a model at one stage of a rollout: the
// versions served and their weights.
func stage(t testing.TB, weights map[string]int32) []render.Object {
	t.Helper()
	m := mesh.Model{Model: serving.Model{Name: "fraud"}, Traffic: mesh.Traffic{Rules: []routing.Rule{{Split: routing.SplitOf(weights)}}}}
	for _, d := range routing.SplitOf(weights) {
		m.Versions = append(m.Versions, serving.Version{Name: d.Subset, ModelURI: "s3://m/" + d.Subset})
	}
	objs, err := mesh.Build(mesh.App{Namespace: mesh.Namespace{Name: "ml"}, Models: []mesh.Model{m}})
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

func TestApplyOutcomes(t *testing.T) {
	ctx := context.Background()
	c := applytest.NewCluster()
	objs := stage(t, map[string]int32{"v1": 100})
	var progress []string
	res, err := apply.Apply(ctx, c, objs, apply.Options{Progress: func(r apply.ObjectResult) { progress = append(progress, r.String()) }})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(res.With(apply.Created)); n != len(objs) {
		t.Errorf("first apply: %d created, want %d: %v", n, len(objs), res.Objects)
	}
	if len(progress) != len(objs) || progress[0] != "Namespace ml created" {
		t.Errorf("progress: %q", progress)
	}
	res, err = apply.Apply(ctx, c, objs, apply.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(res.With(apply.Unchanged)); n != len(objs) {
		t.Errorf("second apply: %d unchanged, want %d: %v", n, len(objs), res.Objects)
	}
	// A dry run of a change stores nothing and shows the diff.
	next := stage(t, map[string]int32{"v1": 90, "v2": 10})
	res, err = apply.Apply(ctx, c, next, apply.Options{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	var vs apply.ObjectResult
	for _, r := range res.Objects {
		if r.Object == "VirtualService ml/fraud" {
			vs = r
		}
	}
	if vs.Outcome != apply.Configured || !strings.Contains(vs.Diff, "+      weight: 10") {
		t.Errorf("dry run of the VirtualService: %s\n%s", vs, vs.Diff)
	}
	if len(c.Objects()) != len(objs) {
		t.Errorf("a dry run stored objects")
	}
}

func TestApplyCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	c := applytest.NewCluster()
	objs := stage(t, map[string]int32{"v1": 100})
	res, err := apply.Apply(ctx, c, objs, apply.Options{Progress: func(r apply.ObjectResult) {
		if r.Outcome == apply.Created && strings.HasPrefix(r.Object, "Service ") {
			cancel()
		}
	}})
	var ae *apply.Error
	if !errors.As(err, &ae) || !errors.Is(err, context.Canceled) {
		t.Fatalf("want an *ApplyError wrapping context.Canceled, got %v", err)
	}
	if got := len(res.With(apply.Created)); got != 2 {
		t.Errorf("%d created before the cancellation, want 2 (Namespace, Service)", got)
	}
	if got := len(res.With(apply.NotAttempted)); got != len(objs)-3 {
		t.Errorf("%d not attempted, want %d", got, len(objs)-3)
	}
	if !strings.Contains(err.Error(), "not attempted") {
		t.Errorf("error does not list what was not attempted: %v", err)
	}
}

// TestApplyFailureAtEveryObject fails the k-th object for every k, one
// object at a time; a second Apply must converge to the wanted objects.
func TestApplyFailureAtEveryObject(t *testing.T) {
	ctx := context.Background()
	objs := stage(t, map[string]int32{"v1": 90, "v2": 10})
	for k := 1; k <= len(objs); k++ {
		c := applytest.NewCluster()
		c.FailOn = k
		_, err := apply.Apply(ctx, c, objs, apply.Options{Workers: 1})
		var ae *apply.Error
		if !errors.As(err, &ae) || !errors.Is(err, applytest.ErrInjected) {
			t.Fatalf("k=%d: want the injected failure, got %v", k, err)
		}
		if got := len(ae.Result.With(apply.Created)); got != k-1 {
			t.Errorf("k=%d: %d created before the failure", k, got)
		}
		c.FailOn = 0
		if _, err := apply.Apply(ctx, c, objs, apply.Options{}); err != nil {
			t.Fatalf("k=%d: second apply: %v", k, err)
		}
		res, _ := apply.Apply(ctx, c, objs, apply.Options{})
		if n := len(res.With(apply.Unchanged)); n != len(objs) {
			t.Errorf("k=%d: not converged: %v", k, res.Objects)
		}
	}
}

// many is an App of n two-version models in namespace ml, built.
func many(t testing.TB, n int) []render.Object {
	t.Helper()
	app := mesh.App{Namespace: mesh.Namespace{Name: "ml"}}
	for i := range n {
		app.Models = append(app.Models, mesh.Model{
			Model:   serving.Model{Name: fmt.Sprintf("m%02d", i), Versions: []serving.Version{{Name: "v1", ModelURI: "s3://m/1"}, {Name: "v2", ModelURI: "s3://m/2"}}},
			Traffic: mesh.Traffic{Rules: []routing.Rule{{Split: routing.SplitOf(map[string]int32{"v1": 90, "v2": 10})}}},
		})
	}
	objs, err := mesh.Build(app)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// jittered delays each Apply by a time of its own, so that the objects of a
// rank finish in another order than they started.
type jittered struct{ *applytest.Cluster }

func (j jittered) Apply(ctx context.Context, obj *unstructured.Unstructured, opts apply.PatchOptions) (*unstructured.Unstructured, error) {
	h := fnv.New32a()
	h.Write([]byte(obj.GetName()))
	time.Sleep(time.Duration(h.Sum32()%2000) * time.Microsecond)
	return j.Cluster.Apply(ctx, obj, opts)
}

// TestProgressInApplyOrder: objects of one rank are sent side by side and
// finish in any order, but results and Progress come in apply order, and
// no object starts before every object of the ranks before it is done.
func TestProgressInApplyOrder(t *testing.T) {
	ctx := context.Background()
	objs := many(t, 30)
	want, err := render.YAML(objs)
	if err != nil {
		t.Fatal(err)
	}
	sorted := append([]render.Object(nil), objs...)
	render.Sort(sorted)
	c := applytest.NewCluster()
	rankOf := map[string]string{} // object -> kind
	for _, o := range sorted {
		rankOf[render.Describe(o)] = o.GetObjectKind().GroupVersionKind().Kind
	}
	var progress []string
	// Every change sees the ranks before its own complete.
	c.OnChange = func(c *applytest.Cluster) {
		have := map[string]int{}
		for _, u := range c.Objects() {
			have[u.GetKind()]++
		}
		for i := 1; i < len(sorted); i++ {
			prev, cur := sorted[i-1].GetObjectKind().GroupVersionKind().Kind, sorted[i].GetObjectKind().GroupVersionKind().Kind
			if prev != cur && have[cur] > 0 && have[prev] < count(sorted, prev) {
				t.Errorf("a %s exists while %d of %d %ss do", cur, have[prev], count(sorted, prev), prev)
			}
		}
	}
	res, err := apply.Apply(ctx, jittered{c}, objs, apply.Options{Workers: 6, Progress: func(r apply.ObjectResult) {
		progress = append(progress, r.Object)
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(progress) != len(sorted) || len(res.Objects) != len(sorted) {
		t.Fatalf("%d progress calls and %d results for %d objects", len(progress), len(res.Objects), len(sorted))
	}
	for i, o := range sorted {
		if progress[i] != render.Describe(o) || res.Objects[i].Object != render.Describe(o) {
			t.Fatalf("object %d: progress %q, result %q, want %q", i, progress[i], res.Objects[i].Object, render.Describe(o))
		}
	}
	var stored []render.Object
	for _, u := range c.Objects() {
		stored = append(stored, u)
	}
	got, err := render.YAML(stored)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("the cluster does not hold the objects applied")
	}
}

func count(objs []render.Object, kind string) int {
	n := 0
	for _, o := range objs {
		if o.GetObjectKind().GroupVersionKind().Kind == kind {
			n++
		}
	}
	return n
}

// TestApplyFailureMidRank fails one Deployment among sixty sent side by
// side: the error names it; every object reported done is in the cluster,
// every one not attempted or failed is not; no object of a later rank is
// attempted; Progress reported exactly the attempted ones, in apply order;
// the next Apply converges.
func TestApplyFailureMidRank(t *testing.T) {
	ctx := context.Background()
	objs := many(t, 30) // a Namespace, 30 Services, 60 Deployments, ...
	for _, k := range []int{32, 40, 91} {
		c := applytest.NewCluster()
		c.FailOn = k
		var progress []string
		res, err := apply.Apply(ctx, jittered{c}, objs, apply.Options{Workers: 4, Progress: func(r apply.ObjectResult) {
			progress = append(progress, r.Object)
		}})
		var ae *apply.Error
		if !errors.As(err, &ae) || !errors.Is(err, applytest.ErrInjected) || !strings.HasPrefix(ae.Failed.Object, "Deployment ") {
			t.Fatalf("call %d: want the injected failure of a Deployment, got %v", k, err)
		}
		stored := map[string]bool{}
		for _, u := range c.Objects() {
			stored[render.Describe(u)] = true
		}
		var attempted []string
		for _, r := range res.Objects {
			switch r.Outcome {
			case apply.Created:
				if !stored[r.Object] {
					t.Errorf("call %d: %s reported created, not in the cluster", k, r.Object)
				}
			case apply.Failed, apply.NotAttempted:
				if stored[r.Object] {
					t.Errorf("call %d: %s reported %s, yet in the cluster", k, r.Object, r.Outcome)
				}
				if r.Outcome == apply.NotAttempted {
					continue
				}
			default:
				t.Errorf("call %d: %s", k, r)
			}
			attempted = append(attempted, r.Object)
			if r.GVK.Kind != "Namespace" && r.GVK.Kind != "Service" && r.GVK.Kind != "Deployment" {
				t.Errorf("call %d: %s attempted after a Deployment failed", k, r)
			}
		}
		if strings.Join(progress, ",") != strings.Join(attempted, ",") {
			t.Errorf("call %d: progress\n  %v\nwant the attempted objects in order\n  %v", k, progress, attempted)
		}
		if len(ae.Result.With(apply.NotAttempted)) == 0 || !strings.Contains(err.Error(), "not attempted (") {
			t.Errorf("call %d: the error lists nothing not attempted: %v", k, err)
		}
		c.FailOn = 0
		if _, err := apply.Apply(ctx, c, objs, apply.Options{}); err != nil {
			t.Fatalf("call %d: apply after the failure: %v", k, err)
		}
		if res, _ := apply.Apply(ctx, c, objs, apply.Options{}); len(res.With(apply.Unchanged)) != len(objs) {
			t.Errorf("call %d: not converged", k)
		}
	}
}

// TestApplyCancelledMidRank: cancelled while a rank is under way, Apply
// starts nothing of a later rank, and what it reports done is done.
func TestApplyCancelledMidRank(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	objs := many(t, 30)
	c := applytest.NewCluster()
	n := 0
	res, err := apply.Apply(ctx, jittered{c}, objs, apply.Options{Workers: 4, Progress: func(r apply.ObjectResult) {
		if n++; n == 40 { // among the Deployments
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, got %v", err)
	}
	stored := len(c.Objects())
	done := len(res.With(apply.Created))
	if done != stored || done < 40 {
		t.Errorf("%d reported created, %d in the cluster, cancelled after the 40th", done, stored)
	}
	for _, r := range res.Objects {
		if r.GVK.Kind == "VirtualService" && r.Outcome != apply.NotAttempted {
			t.Errorf("%s after the cancellation", r)
		}
	}
}

// TestTransitionSafeAtEveryStep rolls a model out and back: canary,
// promotion, removal of the old version. After every single change the
// cluster holds no route to a missing host, subset or pods.
func TestTransitionSafeAtEveryStep(t *testing.T) {
	ctx := context.Background()
	stages := []map[string]int32{
		{"v1": 100},
		{"v1": 90, "v2": 10},
		{"v1": 0, "v2": 100},
		{"v2": 100},
		{"v2": 50, "v3": 50},
		{"v3": 100},
	}
	c := applytest.NewCluster()
	changes := 0
	c.OnChange = func(c *applytest.Cluster) {
		changes++
		if d := meshcheck.Dangling(c.Objects()); len(d) > 0 {
			t.Errorf("after change %d: %s", changes, strings.Join(d, "; "))
		}
	}
	var before []render.Object
	for i, s := range stages {
		wanted := stage(t, s)
		steps, err := apply.PlanTransition(before, wanted, apply.TransitionOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := apply.Transition(ctx, c, before, wanted, apply.TransitionOptions{}); err != nil {
			t.Fatalf("stage %d: %v", i, err)
		}
		if i == 3 {
			// Removing v1: widen the subsets, move routes, narrow, then delete.
			var ops []string
			for _, s := range steps {
				ops = append(ops, s.String())
			}
			want := []string{"apply DestinationRule ml/fraud (widened: keeps subsets v1 while routes move)", "apply VirtualService ml/fraud",
				"apply DestinationRule ml/fraud (narrowed: drops subsets v1)", "delete Deployment ml/fraud-v1"}
			got := strings.Join(ops, ", ")
			if !strings.Contains(got, strings.Join(want, ", ")) {
				t.Errorf("removal steps:\n got  %s\n want ... %s", got, strings.Join(want, ", "))
			}
		}
		before = wanted
	}
	if changes == 0 {
		t.Fatal("no changes observed")
	}
	// Only the last stage's objects are left.
	if got, want := len(c.Objects()), len(stage(t, stages[len(stages)-1])); got != want {
		t.Errorf("%d objects left, want %d", got, want)
	}
}

// TestPruneOnlyManaged: objects without mlmesh's label are never deleted.
func TestPruneOnlyManaged(t *testing.T) {
	before := stage(t, map[string]int32{"v1": 90, "v2": 10})
	for _, o := range before {
		if o.GetName() == "fraud-v1" {
			l := o.GetLabels()
			delete(l, "app.kubernetes.io/managed-by")
			o.SetLabels(l)
		}
	}
	steps, err := apply.PlanTransition(before, stage(t, map[string]int32{"v2": 100}), apply.TransitionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range steps {
		if s.Op == apply.OpDelete {
			t.Errorf("deletes %s, which mlmesh did not label", s)
		}
	}
}

// TestTransitionWaitsForAvailable: with WaitAvailable, routes move only
// once the new Deployment is available, and a Deployment that never becomes
// available stops the transition before any route changes.
func TestTransitionWaitsForAvailable(t *testing.T) {
	ctx := context.Background()
	before := stage(t, map[string]int32{"v1": 100})
	wanted := stage(t, map[string]int32{"v1": 90, "v2": 10})

	c := applytest.NewCluster()
	if _, err := apply.Apply(ctx, c, before, apply.Options{}); err != nil {
		t.Fatal(err)
	}
	c.SetAvailable("ml", "fraud-v1", true)
	steps, err := apply.PlanTransition(before, wanted, apply.TransitionOptions{WaitAvailable: true})
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, s := range steps {
		order = append(order, s.String())
	}
	got := strings.Join(order, ", ")
	if !strings.Contains(got, "wait Deployment ml/fraud-v2, apply VirtualService ml/fraud") {
		t.Errorf("the wait does not come right before the route moves: %s", got)
	}

	// Becomes available after a while: the transition completes.
	c.OnChange = func(c *applytest.Cluster) {
		go func() {
			time.Sleep(300 * time.Millisecond)
			c.SetAvailable("ml", "fraud-v2", true)
		}()
	}
	res, err := apply.Transition(ctx, c, before, wanted, apply.TransitionOptions{WaitAvailable: true})
	if err != nil {
		t.Fatalf("transition with an available Deployment: %v", err)
	}
	var waits []string
	for _, r := range res.Objects {
		if r.Op == apply.OpWait {
			waits = append(waits, r.String())
		}
	}
	if got, want := strings.Join(waits, "; "), "Deployment ml/fraud-v2 available"; got != want {
		t.Errorf("waits reported as %q, want %q", got, want)
	}

	// Never available: it stops before the VirtualService.
	c2 := applytest.NewCluster()
	if _, err := apply.Apply(ctx, c2, before, apply.Options{}); err != nil {
		t.Fatal(err)
	}
	res, err = apply.Transition(ctx, c2, before, wanted, apply.TransitionOptions{WaitAvailable: true, WaitTimeout: time.Second})
	var ae *apply.Error
	if !errors.As(err, &ae) || !strings.Contains(err.Error(), "Deployment ml/fraud-v2 failed: not available after 1s") {
		t.Fatalf("want a wait failure on fraud-v2, got %v", err)
	}
	for _, r := range res.Objects {
		if r.Object == "VirtualService ml/fraud" && r.Outcome != apply.NotAttempted {
			t.Errorf("the route moved to a version that never became available: %s", r)
		}
	}
}

// TestWaitBeforeRoutesInEveryDialect: with WaitAvailable, a new version's
// Deployment is waited for before the first route that could send it
// traffic, whatever kind the dialect routes with: a VirtualService, an
// HTTPRoute, or an HTTPRoute a waypoint applies.
func TestWaitBeforeRoutesInEveryDialect(t *testing.T) {
	app := func(api mesh.API, ambient bool, weights map[string]int32) []render.Object {
		m := mesh.Model{Model: serving.Model{Name: "fraud"}, Traffic: mesh.Traffic{Rules: []routing.Rule{{Split: routing.SplitOf(weights)}}}}
		for _, d := range routing.SplitOf(weights) {
			m.Versions = append(m.Versions, serving.Version{Name: d.Subset, ModelURI: "s3://m/" + d.Subset})
		}
		a := mesh.App{API: api, Namespace: mesh.Namespace{Name: "ml"}, Models: []mesh.Model{m}}
		if ambient {
			a.Namespace.Injection = mesh.InjectAmbient
		}
		objs, err := mesh.Build(a)
		if err != nil {
			t.Fatal(err)
		}
		return objs
	}
	for _, tc := range []struct {
		name    string
		api     mesh.API
		ambient bool
		route   string
	}{
		{"istio", mesh.IstioAPI, false, "VirtualService"},
		{"gateway", mesh.GatewayAPI, false, "HTTPRoute"},
		{"ambient", mesh.GatewayAPI, true, "HTTPRoute"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := app(tc.api, tc.ambient, map[string]int32{"v1": 100})
			wanted := app(tc.api, tc.ambient, map[string]int32{"v1": 90, "v2": 10})
			actions, err := apply.PlanTransition(before, wanted, apply.TransitionOptions{WaitAvailable: true})
			if err != nil {
				t.Fatal(err)
			}
			wait, firstRoute := -1, -1
			for i, a := range actions {
				kind := a.Object.GetObjectKind().GroupVersionKind().Kind
				switch {
				case a.Op == apply.OpWait && a.Object.GetName() == "fraud-v2":
					wait = i
				case a.Op == apply.OpApply && kind == tc.route && firstRoute < 0:
					firstRoute = i
				}
			}
			if wait < 0 || firstRoute < 0 || wait > firstRoute {
				t.Errorf("want the wait for fraud-v2 (at %d) before the first %s (at %d): %v", wait, tc.route, firstRoute, actions)
			}
		})
	}
}
