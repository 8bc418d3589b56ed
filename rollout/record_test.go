package rollout_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/mlmesh/mlmesh/apply"
	"github.com/mlmesh/mlmesh/apply/applytest"
	"github.com/mlmesh/mlmesh/rollout"
)

// forget deletes the model's rollout record: the negative control of
// every case below, a driver without memory.
func forget(t *testing.T, c *applytest.Cluster) {
	t.Helper()
	if err := c.Delete(context.Background(), schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, "ml", rollout.RecordName("fraud"), apply.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
}

// TestRecordCarriesFailuresAcrossRuns: a run is stopped after one failed
// analysis (SIGTERM); the next run's first failure is the
// second of the rollout, and rolls it back. Without the record the count
// starts afresh and the failing candidate keeps its traffic.
func TestRecordCarriesFailuresAcrossRuns(t *testing.T) {
	for _, remember := range []bool{true, false} {
		c := applytest.NewServerSideCluster(nil)
		var events []string
		first := &scripted{answers: []rollout.Conclusion{rollout.Fail}}
		d := driver(c, first, &events)
		d.Failures = 2
		ctx, stop := context.WithCancel(context.Background())
		d.Progress = func(e rollout.Event) {
			if e.Kind == rollout.Analysed {
				stop() // SIGTERM after the first failed analysis
			}
		}
		if _, err := d.Run(ctx, plan(t)); !errors.Is(err, context.Canceled) {
			t.Fatalf("the first run ended with %v, want it cancelled", err)
		}
		if !remember {
			forget(t, c)
		}
		second := &scripted{answers: []rollout.Conclusion{rollout.Fail, rollout.Pass, rollout.Pass, rollout.Pass}}
		d2 := driver(c, second, &events)
		d2.Failures = 2
		rep, err := d2.Run(context.Background(), plan(t))
		if remember && (err != nil || rep.Outcome != rollout.RolledBack || len(second.analysed) != 1) {
			t.Errorf("with the record: %s after %d analyses (%v), want rolled back after 1", rep.Outcome, len(second.analysed), err)
		}
		if !remember && rep.Outcome == rollout.RolledBack {
			t.Errorf("without the record the count carried over: the negative control does not hold")
		}
	}
}

// TestRecordRefusesARolledBackCandidate: a candidate rolled back is not
// canaried again as it is; changed, it is a new candidate. Without the
// record the same candidate is canaried again.
func TestRecordRefusesARolledBackCandidate(t *testing.T) {
	c := applytest.NewServerSideCluster(nil)
	var events []string
	if rep, err := driver(c, &scripted{answers: []rollout.Conclusion{rollout.Fail}}, &events).Run(context.Background(), plan(t)); err != nil || rep.Outcome != rollout.RolledBack {
		t.Fatalf("first run: %s %v", rep.Outcome, err)
	}
	again := &scripted{}
	if _, err := driver(c, again, &events).Run(context.Background(), plan(t)); err == nil || len(again.analysed) != 0 {
		t.Fatalf("the rolled-back candidate again: %v after %d analyses, want a refusal", err, len(again.analysed))
	}
	changed := fraud()
	changed.Models[0].Versions[1].ModelURI = "s3://m/2-fixed"
	p, err := rollout.NewPlan(changed, "fraud", "v2", rollout.Strategy{Steps: []int32{10, 50}})
	if err != nil {
		t.Fatal(err)
	}
	if rep, err := driver(c, &scripted{}, &events).Run(context.Background(), p); err != nil || rep.Outcome != rollout.Succeeded {
		t.Errorf("the candidate changed: %s %v, want it rolled out", rep.Outcome, err)
	}
	// The negative control: no record, the same candidate runs again.
	c2 := applytest.NewServerSideCluster(nil)
	if _, err := driver(c2, &scripted{answers: []rollout.Conclusion{rollout.Fail}}, &events).Run(context.Background(), plan(t)); err != nil {
		t.Fatal(err)
	}
	forget(t, c2)
	again2 := &scripted{}
	if _, err := driver(c2, again2, &events).Run(context.Background(), plan(t)); err != nil || len(again2.analysed) == 0 {
		t.Errorf("without the record: %v after %d analyses, want the canary run again", err, len(again2.analysed))
	}
}

// setWeights sets the weights of the catch-all rule of the live
// VirtualService as another field manager, forcing, as a GitOps tool
// does, and returns nothing but failures.
func setWeights(t *testing.T, c *applytest.Cluster, manager string, v1, v2 int64) {
	t.Helper()
	vs, err := c.Get(context.Background(), schema.GroupVersionKind{Group: "networking.istio.io", Version: "v1", Kind: "VirtualService"}, "ml", "fraud")
	if err != nil {
		t.Fatal(err)
	}
	http, _, _ := unstructured.NestedSlice(vs.Object, "spec", "http")
	route := http[len(http)-1].(map[string]any)["route"].([]any)
	for _, r := range route {
		d := r.(map[string]any)
		switch d["destination"].(map[string]any)["subset"] {
		case "v1":
			d["weight"] = v1
		case "v2":
			d["weight"] = v2
		}
	}
	_ = unstructured.SetNestedSlice(vs.Object, http, "spec", "http")
	vs.SetManagedFields(nil)
	vs.SetResourceVersion("")
	if _, err := c.Apply(context.Background(), vs, apply.PatchOptions{FieldManager: manager, Force: true}); err != nil {
		t.Fatal(err)
	}
}

// TestRecordDrift: while a canary is at 10%, a GitOps tool forces 80/20,
// or the candidate to 100%; the next run finds the routes are not where
// the record says, rolls back (never promotes), taking the routes' fields
// from the tool and saying so. With OnDrift Hold it changes nothing.
func TestRecordDrift(t *testing.T) {
	for _, tc := range []struct {
		name   string
		v1, v2 int64
		policy rollout.DriftPolicy
		forget bool // the negative control: no record
	}{
		{"80/20", 80, 20, rollout.DriftRollBack, false},
		{"to the candidate", 0, 100, rollout.DriftRollBack, false},
		{"held", 80, 20, rollout.DriftHold, false},
		{"to the candidate, no record", 0, 100, rollout.DriftRollBack, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := applytest.NewServerSideCluster(nil)
			var events []string
			p, err := rollout.NewPlan(fraud(), "fraud", "v2", rollout.Strategy{Steps: []int32{10, 50}, OnDrift: tc.policy})
			if err != nil {
				t.Fatal(err)
			}
			d := driver(c, &scripted{}, &events)
			d.Approve = func(_ context.Context, next rollout.Step) (rollout.Decision, error) {
				if next.Name() == "02-canary-50" {
					return rollout.Stop, nil // stays at 10%
				}
				return rollout.Approve, nil
			}
			if rep, err := d.Run(context.Background(), p); err != nil || rep.Outcome != rollout.Stopped {
				t.Fatalf("first run: %s %v", rep.Outcome, err)
			}
			setWeights(t, c, "argocd", tc.v1, tc.v2)
			vsKind := schema.GroupVersionKind{Group: "networking.istio.io", Version: "v1", Kind: "VirtualService"}
			drifted, _ := c.Get(context.Background(), vsKind, "ml", "fraud")
			if tc.forget {
				forget(t, c)
			}
			gate := &scripted{}
			rep, err := driver(c, gate, &events).Run(context.Background(), p)
			if tc.forget {
				// Without memory the run takes the tool's 100% for the
				// promoted step and goes on from there: no rollback.
				if rep.Outcome == rollout.RolledBack || !strings.Contains(strings.Join(events, "\n"), "resumed 03-promoted") {
					t.Errorf("without the record: %s (%v); the negative control does not hold", rep.Outcome, err)
				}
				return
			}
			if tc.policy == rollout.DriftHold {
				after, _ := c.Get(context.Background(), vsKind, "ml", "fraud")
				if err == nil || !strings.Contains(err.Error(), "drifted") || after.GetResourceVersion() != drifted.GetResourceVersion() {
					t.Errorf("held: %v; the VirtualService went from version %s to %s", err, drifted.GetResourceVersion(), after.GetResourceVersion())
				}
				return
			}
			if err != nil || rep.Outcome != rollout.RolledBack || liveStep(t, c, p) != "00-baseline" || len(gate.analysed) != 0 {
				t.Fatalf("after the drift: %s at %s (%v), %d analyses; want rolled back to the baseline", rep.Outcome, liveStep(t, c, p), err, len(gate.analysed))
			}
			log := strings.Join(events, "\n")
			if !strings.Contains(log, "rolling back from 01-canary-10: drift:") || !strings.Contains(log, "taking the routes' fields from argocd") {
				t.Errorf("events:\n%s", log)
			}
			if rec, _, _ := rollout.Status(context.Background(), c, "ml", "fraud"); rec.Outcome != rollout.RolledBack || !strings.HasPrefix(rec.Reason, "drift:") {
				t.Errorf("record: %+v", rec)
			}
		})
	}
}

// TestRecordRestartsAChangedCandidate: a canary stopped at 50% whose
// candidate then changes (a new model URI) starts over from the baseline
// and is analysed at 10% first: the changed candidate never takes the
// traffic the old one earned. Without the record the run resumes the
// changed candidate at 50%.
func TestRecordRestartsAChangedCandidate(t *testing.T) {
	for _, remember := range []bool{true, false} {
		c := applytest.NewServerSideCluster(nil)
		var events []string
		stopBefore := func(step string) func(context.Context, rollout.Step) (rollout.Decision, error) {
			return func(_ context.Context, next rollout.Step) (rollout.Decision, error) {
				if next.Name() == step {
					return rollout.Stop, nil
				}
				return rollout.Approve, nil
			}
		}
		d := driver(c, &scripted{}, &events)
		d.Approve = stopBefore("03-promoted")
		if rep, err := d.Run(context.Background(), plan(t)); err != nil || rep.Outcome != rollout.Stopped {
			t.Fatalf("first run: %s %v", rep.Outcome, err)
		}
		if !remember {
			forget(t, c)
		}
		changed := fraud()
		changed.Models[0].Versions[1].ModelURI = "s3://m/2-retrained"
		p, err := rollout.NewPlan(changed, "fraud", "v2", rollout.Strategy{Steps: []int32{10, 50}})
		if err != nil {
			t.Fatal(err)
		}
		events = nil
		gate := &scripted{}
		d2 := driver(c, gate, &events)
		d2.Approve = stopBefore("02-canary-50")
		rep, err := d2.Run(context.Background(), p)
		log := strings.Join(events, "\n")
		restarted := err == nil && rep.Outcome == rollout.Stopped && rep.Resumed == nil &&
			strings.Contains(log, "restarting from 02-canary-50: v2 changed since the rollout reached 02-canary-50") &&
			strings.Contains(log, "applied 00-baseline") && len(gate.analysed) == 1 && gate.analysed[0] == "01-canary-10"
		if remember && !restarted {
			t.Errorf("with the record: %s (%v); want a restart from the baseline, 10%% analysed, stopped before 50%%; events:\n%s", rep.Outcome, err, log)
		}
		// Without memory the changed candidate resumes at 50% and is
		// promoted after one analysis there.
		if !remember && (restarted || rep.Resumed == nil || rep.Resumed.Name() != "02-canary-50" || rep.Outcome != rollout.Succeeded) {
			t.Errorf("without the record: %s, resumed at %v (%v); the negative control does not hold; events:\n%s", rep.Outcome, rep.Resumed, err, log)
		}
	}
}

// TestRecordKeepsTheMoves: the record lists each step the cluster reached
// with its weights, a rollback's return to the baseline too, and the
// verdicts between them; a resumed run adds to the same history.
func TestRecordKeepsTheMoves(t *testing.T) {
	moves := func(rec rollout.Record) string {
		var out []string
		for _, m := range rec.Moves {
			out = append(out, fmt.Sprintf("%s v1=%d v2=%d", m.Step, m.Weights["v1"], m.Weights["v2"]))
			if m.Time.IsZero() {
				t.Errorf("move to %s has no time", m.Step)
			}
		}
		return strings.Join(out, "; ")
	}
	c := applytest.NewServerSideCluster(nil)
	var events []string
	if rep, err := driver(c, &scripted{answers: []rollout.Conclusion{rollout.Pass, rollout.Fail}}, &events).Run(context.Background(), plan(t)); err != nil || rep.Outcome != rollout.RolledBack {
		t.Fatalf("run: %s %v", rep.Outcome, err)
	}
	rec, _, err := rollout.Status(context.Background(), c, "ml", "fraud")
	if err != nil {
		t.Fatal(err)
	}
	want := "00-baseline v1=100 v2=0; 01-canary-10 v1=90 v2=10; 02-canary-50 v1=50 v2=50; 00-baseline v1=100 v2=0"
	if got := moves(rec); got != want || len(rec.Verdicts) != 2 {
		t.Errorf("moves %q, want %q; %d verdicts", got, want, len(rec.Verdicts))
	}

	// Promoted and retired, in two runs: the second resumes the history.
	c = applytest.NewServerSideCluster(nil)
	d := driver(c, &scripted{}, &events)
	ctx, stop := context.WithCancel(context.Background())
	d.Progress = func(e rollout.Event) {
		if e.Kind == rollout.Analysed {
			stop()
		}
	}
	if _, err := d.Run(ctx, plan(t)); !errors.Is(err, context.Canceled) {
		t.Fatalf("the first run ended with %v, want it cancelled", err)
	}
	if _, err := driver(c, &scripted{}, &events).Run(context.Background(), plan(t)); err != nil {
		t.Fatal(err)
	}
	rec, _, err = rollout.Status(context.Background(), c, "ml", "fraud")
	if err != nil {
		t.Fatal(err)
	}
	want = "00-baseline v1=100 v2=0; 01-canary-10 v1=90 v2=10; 02-canary-50 v1=50 v2=50; 03-promoted v1=0 v2=100; 04-retired v1=0 v2=100"
	if got := moves(rec); got != want {
		t.Errorf("moves %q, want %q", got, want)
	}
	if _, kept := rec.Moves[len(rec.Moves)-1].Weights["v1"]; kept {
		t.Error("the retired step gives v1 a weight")
	}
}
