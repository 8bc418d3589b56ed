package apply_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/mlmesh/mlmesh/apply"
	"github.com/mlmesh/mlmesh/apply/applytest"
	"github.com/mlmesh/mlmesh/mesh"
	"github.com/mlmesh/mlmesh/render"
	"github.com/mlmesh/mlmesh/routing"
	"github.com/mlmesh/mlmesh/serving"
)

// counting is a Cluster behind an applytest.Counter: the code under test
// goes through the Counter; a test acts as another manager on the Cluster
// itself.
type counting struct {
	*applytest.Counter
	Cluster *applytest.Cluster
}

func newCounting(c *applytest.Cluster) *counting {
	return &counting{Counter: applytest.NewCounter(c), Cluster: c}
}

// TestLiveObjectsListedOnce: Apply and Transition read the live objects
// with one List per kind and namespace instead of a Get per object, and
// report exactly what the Get-per-object path (taken when Lists are
// forbidden) reports, through
// a first apply, a second (unchanged), a dry run, a change and a transition
// that widens, moves, narrows and deletes.
func TestLiveObjectsListedOnce(t *testing.T) {
	ctx := context.Background()
	byGet, byList := newCounting(applytest.NewCluster()), newCounting(applytest.NewCluster())
	byGet.ListForbidden = true
	kinds := func(objs []render.Object) int {
		seen := map[string]bool{}
		for _, o := range objs {
			seen[o.GetObjectKind().GroupVersionKind().Kind+"/"+o.GetNamespace()] = true
		}
		return len(seen)
	}
	canary := stage(t, map[string]int32{"v1": 90, "v2": 10})
	promoted := stage(t, map[string]int32{"v2": 100})
	type call func(a apply.Client) (apply.Result, error)
	for _, step := range []struct {
		name string
		do   call
	}{
		{"first apply", func(a apply.Client) (apply.Result, error) {
			return apply.Apply(ctx, a, canary, apply.Options{})
		}},
		{"again", func(a apply.Client) (apply.Result, error) {
			return apply.Apply(ctx, a, canary, apply.Options{})
		}},
		{"dry run of the promotion", func(a apply.Client) (apply.Result, error) {
			return apply.Apply(ctx, a, promoted, apply.Options{DryRun: true})
		}},
		{"promotion", func(a apply.Client) (apply.Result, error) {
			return apply.Transition(ctx, a, canary, promoted, apply.TransitionOptions{})
		}},
	} {
		before := byList.Counts()
		want, err := step.do(byGet)
		if err != nil {
			t.Fatalf("%s, by Get: %v", step.name, err)
		}
		got, err := step.do(byList)
		if err != nil {
			t.Fatalf("%s, by List: %v", step.name, err)
		}
		if len(got.Objects) != len(want.Objects) {
			t.Fatalf("%s: %d results by List, %d by Get", step.name, len(got.Objects), len(want.Objects))
		}
		for i := range want.Objects {
			if g, w := got.Objects[i].String(), want.Objects[i].String(); g != w || got.Objects[i].Diff != want.Objects[i].Diff {
				t.Errorf("%s: by List %q, by Get %q", step.name, g, w)
			}
		}
		if n := byList.Counts().Gets - before.Gets; n != 0 {
			t.Errorf("%s: %d Gets where Lists work, want 0", step.name, n)
		}
		objs := canary
		if step.name != "first apply" && step.name != "again" {
			objs = promoted
		}
		if n := byList.Counts().Lists - before.Lists; n > kinds(objs) || n == 0 {
			t.Errorf("%s: %d Lists for %d kinds and namespaces", step.name, n, kinds(objs))
		}
	}
	g, l := byGet.Counts(), byList.Counts()
	if g.Gets == 0 || g.Lists != 0 {
		t.Fatalf("the Get path made %d Gets and %d Lists", g.Gets, g.Lists)
	}
	t.Logf("requests by Get: %d applies, %d gets; by List: %d applies, %d lists", g.Applies, g.Gets, l.Applies, l.Lists)
}

// TestPlanTouchesOnlyWhatDiffers: moving one model of many lists that
// model's changed objects only, and a new version its workload, subset and
// route in make-before-break order, with the wait its safety needs.
func TestPlanTouchesOnlyWhatDiffers(t *testing.T) {
	app := func(weights map[string]int32) mesh.App {
		a := mesh.App{Namespace: mesh.Namespace{Name: "ml"}}
		for i := range 50 {
			m := mesh.Model{Model: serving.Model{Name: fmt.Sprintf("m%02d", i), Versions: []serving.Version{{Name: "v1", ModelURI: "s3://m/1"}, {Name: "v2", ModelURI: "s3://m/2"}}},
				Traffic: mesh.Traffic{Rules: []routing.Rule{{Split: routing.SplitOf(map[string]int32{"v1": 90, "v2": 10})}}}}
			if i == 7 {
				m.Traffic.Rules = []routing.Rule{{Split: routing.SplitOf(weights)}}
				m.Versions = nil
				for _, d := range routing.SplitOf(weights) {
					m.Versions = append(m.Versions, serving.Version{Name: d.Subset, ModelURI: "s3://m/" + d.Subset})
				}
			}
			a.Models = append(a.Models, m)
		}
		return a
	}
	build := func(a mesh.App) []render.Object {
		objs, err := mesh.Build(a)
		if err != nil {
			t.Fatal(err)
		}
		return objs
	}
	before := build(app(map[string]int32{"v1": 90, "v2": 10}))
	for _, tc := range []struct {
		name    string
		weights map[string]int32
		want    []string
	}{
		{"one weight", map[string]int32{"v1": 50, "v2": 50}, []string{"apply VirtualService ml/m07"}},
		{"a third version", map[string]int32{"v1": 80, "v2": 10, "v3": 10}, []string{
			"apply Deployment ml/m07-v3", "apply DestinationRule ml/m07", "wait Deployment ml/m07-v3", "apply VirtualService ml/m07"}},
		{"nothing", map[string]int32{"v1": 90, "v2": 10}, nil},
	} {
		steps, err := apply.PlanTransition(before, build(app(tc.weights)), apply.TransitionOptions{WaitAvailable: true})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, s := range steps {
			got = append(got, s.String())
		}
		if strings.Join(got, "; ") != strings.Join(tc.want, "; ") {
			t.Errorf("%s: plan\n  %s\nwant\n  %s", tc.name, strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
		}
	}
}
