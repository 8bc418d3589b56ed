package rollout_test

import (
	"context"
	"errors"
	"fmt"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"strings"
	"testing"
	"time"

	"github.com/mlmesh/mlmesh/apply"
	"github.com/mlmesh/mlmesh/apply/applytest"
	"github.com/mlmesh/mlmesh/internal/meshcheck"
	"github.com/mlmesh/mlmesh/rollout"
	"github.com/mlmesh/mlmesh/routing"
)

// checkMove applies a, then moves to b, checking after every change that
// no route names a missing host, subset or pods.
func checkMove(t *testing.T, a, b rollout.Step) {
	t.Helper()
	ctx := context.Background()
	c := applytest.NewCluster()
	if _, err := apply.Apply(ctx, c, a.Objects, apply.Options{}); err != nil {
		t.Fatal(err)
	}
	c.OnChange = func(c *applytest.Cluster) {
		if d := meshcheck.Dangling(c.Objects()); len(d) > 0 {
			t.Errorf("%s to %s: %s", a.Name(), b.Name(), strings.Join(d, "; "))
		}
	}
	if _, err := apply.Transition(ctx, c, a.Objects, b.Objects, apply.TransitionOptions{}); err != nil {
		t.Fatalf("%s to %s: %v", a.Name(), b.Name(), err)
	}
}

// scripted is a gate answering from a script, then passing; it records
// the steps it analysed.
type scripted struct {
	answers  []rollout.Conclusion
	err      error
	analysed []string
}

func (g *scripted) Analyse(_ context.Context, t rollout.Target) (rollout.Verdict, error) {
	g.analysed = append(g.analysed, t.Step.Name())
	if g.err != nil {
		return rollout.Verdict{}, g.err
	}
	r := rollout.Pass
	if len(g.answers) > 0 {
		r, g.answers = g.answers[0], g.answers[1:]
	}
	if t.CandidateWorkload != "fraud-v2" || t.StableWorkload != "fraud-v1" || t.Namespace != "ml" {
		return rollout.Verdict{}, fmt.Errorf("wrong target %+v", t)
	}
	return rollout.Verdict{Result: r, Measurements: []rollout.Measurement{{Name: "scripted", Value: 1, Result: r}}}, nil
}

func noSleep(ctx context.Context, _ time.Duration) error { return ctx.Err() }

func plan(t *testing.T) *rollout.Plan {
	t.Helper()
	p, err := rollout.NewPlan(fraud(), "fraud", "v2", rollout.Strategy{Steps: []int32{10, 50}})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// liveStep returns the step the cluster is at.
func liveStep(t *testing.T, c *applytest.Cluster, p *rollout.Plan) string {
	t.Helper()
	live, err := apply.Managed(context.Background(), c, "ml")
	if err != nil {
		t.Fatal(err)
	}
	i, found, err := p.Locate(live)
	if err != nil {
		t.Fatal(err)
	}
	if !found {
		return "nothing"
	}
	return p.Steps[i].Name()
}

// driver runs plans on c with g, its events to events, no sleeps; c acts
// as a cluster whose Deployment controller finds every Deployment's pods
// ready as soon as it is stored.
func driver(c *applytest.Cluster, g rollout.Gate, events *[]string) *rollout.Driver {
	if c.Default == nil {
		c.Default = func(u *unstructured.Unstructured) {
			if u.GetKind() == "Deployment" {
				_ = unstructured.SetNestedSlice(u.Object, []any{map[string]any{"type": "Available", "status": "True"}}, "status", "conditions")
			}
		}
	}
	return &rollout.Driver{Client: c, Gate: g, Sleep: noSleep, Progress: func(e rollout.Event) {
		*events = append(*events, e.String())
	}}
}

func TestDriverPromotes(t *testing.T) {
	p := plan(t)
	c := applytest.NewCluster()
	c.OnChange = func(c *applytest.Cluster) {
		if d := meshcheck.Dangling(c.Objects()); len(d) > 0 {
			t.Errorf("%s", strings.Join(d, "; "))
		}
	}
	g := &scripted{}
	var events []string
	rep, err := driver(c, g, &events).Run(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Outcome != rollout.Succeeded || rep.Step.Name() != "04-retired" || rep.Resumed != nil {
		t.Errorf("report %+v", rep)
	}
	if got := strings.Join(g.analysed, " "); got != "01-canary-10 02-canary-50" {
		t.Errorf("analysed %s", got)
	}
	if got := liveStep(t, c, p); got != "04-retired" {
		t.Errorf("cluster at %s", got)
	}
	for _, u := range c.Objects() {
		if u.GetName() == "fraud-v1" {
			t.Errorf("v1 not retired: %s %s", u.GetKind(), u.GetName())
		}
	}
	want := []string{"applied 00-baseline", "applied 01-canary-10", "analysed 01-canary-10: pass", "applied 02-canary-50",
		"analysed 02-canary-50: pass", "applied 03-promoted", "applied 04-retired"}
	if len(events) != len(want) {
		t.Fatalf("events:\n%s", strings.Join(events, "\n"))
	}
	for i, w := range want {
		if !strings.HasPrefix(events[i], w) {
			t.Errorf("event %d: %q, want %q...", i, events[i], w)
		}
	}
	// Run again: the cluster is at the end, nothing is done.
	events = nil
	rep, err = driver(c, g, &events).Run(context.Background(), p)
	if err != nil || rep.Outcome != rollout.Succeeded || rep.Resumed == nil || rep.Resumed.Name() != "04-retired" {
		t.Errorf("second run: %+v %v", rep, err)
	}
}

func TestDriverRollsBack(t *testing.T) {
	p := plan(t)
	c := applytest.NewCluster()
	g := &scripted{answers: []rollout.Conclusion{rollout.Pass, rollout.Fail, rollout.Pass, rollout.Fail}}
	var events []string
	d := driver(c, g, &events)
	d.Failures, d.Passes = 2, 2
	rep, err := d.Run(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Outcome != rollout.RolledBack || rep.Step.Name() != "00-baseline" {
		t.Errorf("report %s at %s", rep.Outcome, rep.Step.Name())
	}
	// canary-10 passes twice (pass, fail, pass); canary-50's fail is the second.
	if got := strings.Join(g.analysed, " "); got != "01-canary-10 01-canary-10 01-canary-10 02-canary-50" {
		t.Errorf("analysed %s", got)
	}
	if got := liveStep(t, c, p); got != "00-baseline" {
		t.Errorf("cluster at %s", got)
	}
	kept := false
	for _, u := range c.Objects() {
		kept = kept || u.GetName() == "fraud-v2" && u.GetKind() == "Deployment"
	}
	if !kept {
		t.Error("the candidate's Deployment was not kept for inspection")
	}
	if !strings.Contains(strings.Join(events, "\n"), "rolling back from 02-canary-50: after 2 failed analyses") {
		t.Errorf("events:\n%s", strings.Join(events, "\n"))
	}
	// The record says v2 was rolled back: a new run refuses it as it is.
	rec, found, err := rollout.Status(context.Background(), c, "ml", "fraud")
	if err != nil || !found || rec.Outcome != rollout.RolledBack || rec.Failures != 2 || rec.At != "00-baseline" || len(rec.Verdicts) != 4 {
		t.Fatalf("record after the rollback: %+v %v %v", rec, found, err)
	}
	g2 := &scripted{}
	if _, err := driver(c, g2, &events).Run(context.Background(), p); err == nil || !strings.Contains(err.Error(), "was rolled back") || len(g2.analysed) != 0 {
		t.Errorf("run after the rollback: %v, %d analyses; want a refusal", err, len(g2.analysed))
	}
	// Asked to (Strategy.RetryRolledBack), it starts again from the baseline.
	retry, err := rollout.NewPlan(fraud(), "fraud", "v2", rollout.Strategy{Steps: []int32{10, 50}, RetryRolledBack: true})
	if err != nil {
		t.Fatal(err)
	}
	rep, err = driver(c, g2, &events).Run(context.Background(), retry)
	if err != nil || rep.Outcome != rollout.Succeeded || rep.Resumed.Name() != "00-baseline" {
		t.Errorf("run after the rollback, retried: %+v %v", rep, err)
	}
}

func TestDriverNoData(t *testing.T) {
	p := plan(t)
	// No data holds: three NoData then a pass go on.
	c := applytest.NewCluster()
	g := &scripted{answers: []rollout.Conclusion{rollout.NoData, rollout.NoData, rollout.NoData}}
	var events []string
	d := driver(c, g, &events)
	d.NoDataLimit = 4
	if rep, err := d.Run(context.Background(), p); err != nil || rep.Outcome != rollout.Succeeded {
		t.Errorf("no data within the limit: %v %v", rep.Outcome, err)
	}
	// ...and fails at its limit.
	c = applytest.NewCluster()
	g = &scripted{answers: []rollout.Conclusion{rollout.NoData, rollout.NoData, rollout.NoData, rollout.NoData}}
	d = driver(c, g, &events)
	d.NoDataLimit = 4
	rep, err := d.Run(context.Background(), p)
	if err != nil || rep.Outcome != rollout.RolledBack || len(g.analysed) != 4 {
		t.Errorf("no data past the limit: %v %v after %d analyses", rep.Outcome, err, len(g.analysed))
	}
}

// TestDriverErrorLimit: analyses that cannot be made are tried again, and
// ErrorLimit of them in a row roll back (the candidate is not left on
// traffic it cannot be judged on); fewer, then a pass, go on; the count
// carries across runs in the record (without it, the negative control, a
// second run starts counting afresh).
func TestDriverErrorLimit(t *testing.T) {
	broken := errors.New("prometheus: connection refused")
	failing := func(n int) (*int, rollout.Gate) {
		calls := 0
		return &calls, rollout.GateFunc(func(ctx context.Context, tg rollout.Target) (rollout.Verdict, error) {
			if calls++; calls <= n {
				return rollout.Verdict{}, broken
			}
			return rollout.Verdict{Result: rollout.Pass}, nil
		})
	}
	var events []string
	c := applytest.NewServerSideCluster(nil)
	calls, g := failing(100)
	rep, err := driver(c, g, &events).Run(context.Background(), plan(t))
	if err != nil || rep.Outcome != rollout.RolledBack || *calls != 3 || liveStep(t, c, plan(t)) != "00-baseline" {
		t.Fatalf("Prometheus gone: %s after %d analyses (%v), cluster at %s; want rolled back after 3", rep.Outcome, *calls, err, liveStep(t, c, plan(t)))
	}
	if got := strings.Join(events, "\n"); !strings.Contains(got, "could not analyse 01-canary-10 (2 errors in a row): prometheus: connection refused") ||
		!strings.Contains(got, "rolling back from 01-canary-10: after 3 analyses that could not be made, the last: prometheus: connection refused") {
		t.Errorf("events:\n%s", got)
	}
	c = applytest.NewServerSideCluster(nil)
	calls, g = failing(2)
	if rep, err := driver(c, g, &events).Run(context.Background(), plan(t)); err != nil || rep.Outcome != rollout.Succeeded {
		t.Errorf("two errors, then passes: %s, %v", rep.Outcome, err)
	}
	for _, remember := range []bool{true, false} {
		c := applytest.NewServerSideCluster(nil)
		ctx, cancel := context.WithCancel(context.Background())
		calls, g := failing(100)
		d := driver(c, g, &events)
		d.Progress = func(e rollout.Event) {
			if e.Kind == rollout.Unanalysed && e.Errors == 2 {
				cancel()
			}
		}
		if _, err := d.Run(ctx, plan(t)); !errors.Is(err, context.Canceled) || *calls != 2 {
			t.Fatalf("cancelled after %d errors: %v", *calls, err)
		}
		if !remember {
			forget(t, c)
		}
		calls, g = failing(1)
		rep, err := driver(c, g, &events).Run(context.Background(), plan(t))
		if remember && (err != nil || rep.Outcome != rollout.RolledBack || *calls != 1) {
			t.Errorf("with the record: %s after %d analyses (%v), want rolled back at the third error in a row", rep.Outcome, *calls, err)
		}
		if !remember && rep.Outcome != rollout.Succeeded {
			t.Errorf("without the record: %s (%v): the negative control does not hold", rep.Outcome, err)
		}
	}
}

func TestDriverResumes(t *testing.T) {
	p := plan(t)
	c := applytest.NewCluster()
	var events []string
	// The gate fails with an error at canary-50, and a run cancelled
	// there stops there.
	broken := errors.New("prometheus: connection refused")
	g := rollout.GateFunc(func(ctx context.Context, tg rollout.Target) (rollout.Verdict, error) {
		if tg.Step.Phase == rollout.Canary && tg.Step.Weight == 50 {
			return rollout.Verdict{}, broken
		}
		return rollout.Verdict{Result: rollout.Pass}, nil
	})
	ctx0, cancel0 := context.WithCancel(context.Background())
	d0 := driver(c, g, &events)
	d0.Progress = func(e rollout.Event) {
		if e.Kind == rollout.Unanalysed {
			cancel0()
		}
	}
	rep, err := d0.Run(ctx0, p)
	if !errors.Is(err, context.Canceled) || rep.Step.Name() != "02-canary-50" {
		t.Fatalf("want a stop at canary-50, got %v at %s", err, rep.Step.Name())
	}
	if got := liveStep(t, c, p); got != "02-canary-50" {
		t.Errorf("cluster at %s", got)
	}
	// Cancelled right after a move: the move is whole, the run says where.
	ctx, cancel := context.WithCancel(context.Background())
	c2 := applytest.NewCluster()
	d := driver(c2, &scripted{}, &events)
	d.Progress = func(e rollout.Event) {
		if e.Kind == rollout.Applied && e.Step.Name() == "01-canary-10" {
			cancel()
		}
	}
	rep, err = d.Run(ctx, p)
	if !errors.Is(err, context.Canceled) || rep.Step.Name() != "01-canary-10" {
		t.Fatalf("cancelled: %v at %s", err, rep.Step.Name())
	}
	if got := liveStep(t, c2, p); got != "01-canary-10" {
		t.Errorf("cancelled: cluster at %s", got)
	}
	// Both resume where they stopped, never going back to the baseline.
	for name, cl := range map[string]*applytest.Cluster{"after the error": c, "after the cancellation": c2} {
		var seen []string
		cl.OnChange = func(cl *applytest.Cluster) { seen = append(seen, liveStep(t, cl, p)) }
		g := &scripted{}
		rep, err := driver(cl, g, &events).Run(context.Background(), p)
		if err != nil || rep.Outcome != rollout.Succeeded {
			t.Fatalf("%s: %v %v", name, rep.Outcome, err)
		}
		for _, s := range seen {
			if s == "00-baseline" {
				t.Errorf("%s: the resumed run went back through the baseline: %v", name, seen)
			}
		}
		if rep.Resumed == nil || g.analysed[0] != rep.Resumed.Name() {
			t.Errorf("%s: resumed at %v, analysed %v", name, rep.Resumed, g.analysed)
		}
	}
}

func TestDriverApproval(t *testing.T) {
	p := plan(t)
	c := applytest.NewCluster()
	var events []string
	d := driver(c, &scripted{}, &events)
	asked := map[string]int{}
	d.Approve = func(_ context.Context, next rollout.Step) (rollout.Decision, error) {
		asked[next.Name()]++
		switch {
		case next.Phase == rollout.Promoted:
			return rollout.Stop, nil
		case next.Name() == "02-canary-50" && asked[next.Name()] == 1:
			return rollout.Hold, nil
		}
		return rollout.Approve, nil
	}
	rep, err := d.Run(context.Background(), p)
	if err != nil || rep.Outcome != rollout.Stopped || rep.Step.Name() != "02-canary-50" {
		t.Fatalf("stopped: %v %v at %s", rep.Outcome, err, rep.Step.Name())
	}
	if asked["02-canary-50"] != 2 || !strings.Contains(strings.Join(events, "\n"), "held 02-canary-50") {
		t.Errorf("asked %v; events:\n%s", asked, strings.Join(events, "\n"))
	}
	if got := liveStep(t, c, p); got != "02-canary-50" {
		t.Errorf("cluster at %s", got)
	}
}

func TestDriverRefusesAnUnknownState(t *testing.T) {
	p := plan(t)
	c := applytest.NewCluster()
	hand := fraud()
	hand.Models[0].Traffic.Rules[1].Split = routing.SplitOf(map[string]int32{"v1": 70, "v2": 30}) // no step routes so
	if _, err := apply.Apply(context.Background(), c, mustBuild(t, hand), apply.Options{}); err != nil {
		t.Fatal(err)
	}
	var events []string
	_, err := driver(c, &scripted{}, &events).Run(context.Background(), p)
	if err == nil || !strings.Contains(err.Error(), "route as no step of the plan does") {
		t.Fatalf("want a refusal, got %v", err)
	}
	if len(events) != 0 {
		t.Errorf("it acted: %v", events)
	}
}

// TestEventWords: one object, one failed analysis, in the singular; a
// run that cannot read the cluster reports its step as unknown.
func TestEventWords(t *testing.T) {
	p := plan(t)
	applied := rollout.Event{Kind: rollout.Applied, Step: p.Steps[1], Result: apply.Result{Objects: []apply.ObjectResult{{Object: "VirtualService ml/fraud", Outcome: apply.Configured}}}}
	if got := applied.String(); !strings.HasSuffix(got, ": 1 object changed") {
		t.Errorf("applied: %q", got)
	}
	for _, k := range []rollout.EventKind{rollout.Baking, rollout.Held, rollout.HookFailed, rollout.Unanalysed} {
		_ = rollout.Event{Kind: k}.String() // a zero Step's event reads, and does not panic
	}
	back := rollout.Event{Kind: rollout.RollingBack, Step: p.Steps[1], Failures: 1}
	if got := back.String(); !strings.HasSuffix(got, ": after 1 failed analysis") {
		t.Errorf("rolling back: %q", got)
	}
	failing := failingLists{applytest.NewCluster()}
	rep, err := (&rollout.Driver{Client: failing, Sleep: noSleep}).Run(context.Background(), p)
	if err == nil || rep.Step.Name() != "unknown" {
		t.Errorf("a run that cannot list: %v at %q, want an error at step unknown", err, rep.Step.Name())
	}
}

// failingLists is a cluster whose Lists fail.
type failingLists struct{ *applytest.Cluster }

func (failingLists) List(context.Context, schema.GroupVersionKind, string, map[string]string) ([]runtime.Object, error) {
	return nil, errors.New("the API server is unreachable")
}
