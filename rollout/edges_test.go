package rollout_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/mlmesh/mlmesh/apply"
	"github.com/mlmesh/mlmesh/apply/applytest"
	"github.com/mlmesh/mlmesh/rollout"
)

// clock is a fake time for the driver: Sleep moves it on.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func (c *clock) sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err // cut short at once
	}
	c.t = c.t.Add(d)
	return nil
}

// readyWhen makes c's Deployments report Available as a controller would,
// the candidate's only while ready says so.
func readyWhen(c *applytest.Cluster, ready *atomic.Bool) {
	c.Default = func(u *unstructured.Unstructured) {
		if u.GetKind() == "Deployment" && (u.GetName() != "fraud-v2" || ready.Load()) {
			_ = unstructured.SetNestedSlice(u.Object, []any{map[string]any{"type": "Available", "status": "True"}}, "status", "conditions")
		}
	}
}

// TestDriverWaitsForTheCandidate: from v1 alone (how a model starts), the
// candidate gets no traffic before its Deployment is Available, though the
// move that sends it traffic does not change it; a wait past its deadline
// counts as a failed analysis, and is tried again; enough of them roll
// back. SkipAvailability (the negative control) routes to pods that are
// not ready.
func TestDriverWaitsForTheCandidate(t *testing.T) {
	for _, tc := range []struct {
		name      string
		readyAt   int // the failed waits after which the candidate is ready; -1 never
		lost      bool
		skip      bool
		want      rollout.RunOutcome
		waits     int
		trafficOK bool
		at        string // the step whose wait fails
	}{
		{"ready late", 1, false, false, rollout.Succeeded, 1, true, "00-baseline"},
		{"never ready", -1, false, false, rollout.RolledBack, 2, true, "00-baseline"},
		// Ready at the baseline, then its pods are lost: the move to 10%
		// changes no Deployment, and still waits.
		{"pods lost", 1, true, false, rollout.Succeeded, 1, true, "01-canary-10"},
		{"not waited for", -1, false, true, rollout.Succeeded, 0, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := applytest.NewServerSideCluster(nil)
			var ready atomic.Bool
			ready.Store(tc.lost)
			readyWhen(c, &ready)
			if _, err := apply.Apply(context.Background(), c, build(t, stableAlone()), apply.Options{}); err != nil {
				t.Fatal(err)
			}
			var events []string
			d := driver(c, &scripted{}, &events)
			d.Failures, d.SkipAvailability = 2, tc.skip
			d.Apply.WaitTimeout = 600 * time.Millisecond
			unready := false // traffic reached the candidate while it was not ready
			fails := 0
			d.Progress = func(e rollout.Event) {
				events = append(events, e.String())
				if e.Kind == rollout.Analysed && e.Verdict.Result == rollout.Fail {
					if fails++; fails == tc.readyAt {
						ready.Store(true)
						c.SetAvailable("ml", "fraud-v2", true)
					}
				}
				if e.Kind == rollout.Applied && e.Step.Phase != rollout.Baseline && !ready.Load() {
					unready = true
				}
				if e.Kind == rollout.Applied && e.Step.Phase == rollout.Baseline && tc.lost && fails == 0 {
					ready.Store(false)
					c.SetAvailable("ml", "fraud-v2", false)
				}
			}
			p := plan(t)
			rep, err := d.Run(context.Background(), p)
			all := strings.Join(events, "\n")
			if err != nil || rep.Outcome != tc.want || fails != tc.waits {
				t.Fatalf("%s after %d failed waits (%v), want %s after %d; events:\n%s", rep.Outcome, fails, err, tc.want, tc.waits, all)
			}
			if unready == tc.trafficOK {
				t.Errorf("traffic reached the candidate before it was ready: %v; events:\n%s", unready, all)
			}
			if tc.waits > 0 && !strings.Contains(all, "analysed "+tc.at+": fail: available (fail: Deployment ml/fraud-v2 not available after 600ms") {
				t.Errorf("the failed wait is not reported as an analysis:\n%s", all)
			}
			if tc.want == rollout.RolledBack && liveStep(t, c, p) != "00-baseline" {
				t.Errorf("rolled back to %s", liveStep(t, c, p))
			}
		})
	}
}

// TestDriverBakesBeforeRetiring: with RetireAfter the stable version stays
// deployed, dark, for the bake time after promotion while the candidate is
// analysed; a run stopped during the bake waits only what is left; a
// failed analysis during it rolls back to the stable version.
func TestDriverBakesBeforeRetiring(t *testing.T) {
	p, err := rollout.NewPlan(fraud(), "fraud", "v2", rollout.Strategy{Steps: []int32{50}, RetireAfter: 10 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)}
	c := applytest.NewServerSideCluster(nil)
	var events []string
	g := &scripted{}
	d := driver(c, g, &events)
	d.Interval, d.Now, d.Sleep = time.Minute, clk.now, clk.sleep
	ctx, stop := context.WithCancel(context.Background())
	var promotedAt time.Time
	d.Progress = func(e rollout.Event) {
		events = append(events, e.String())
		if e.Kind == rollout.Applied && e.Step.Phase == rollout.Promoted {
			promotedAt = clk.t
		}
		if e.Kind == rollout.Analysed && e.Step.Phase == rollout.Promoted && clk.t.Sub(promotedAt) >= 4*time.Minute {
			stop() // SIGTERM four minutes into the bake
		}
	}
	if _, err := d.Run(ctx, p); !errors.Is(err, context.Canceled) {
		t.Fatalf("want the run stopped during the bake, got %v", err)
	}
	if got := liveStep(t, c, p); got != "02-promoted" || !has(c, "Deployment", "fraud-v1") {
		t.Fatalf("stopped during the bake at %s; v1 kept: %v", got, has(c, "Deployment", "fraud-v1"))
	}
	if !strings.Contains(strings.Join(events, "\n"), "baking 02-promoted: v1 is retired in 10m0s unless an analysis fails") {
		t.Errorf("events:\n%s", strings.Join(events, "\n"))
	}
	events = nil
	d2 := driver(c, g, &events)
	d2.Interval, d2.Now, d2.Sleep = time.Minute, clk.now, clk.sleep
	var retiredAt time.Time
	d2.Progress = func(e rollout.Event) {
		events = append(events, e.String())
		if e.Kind == rollout.Applied && e.Step.Phase == rollout.Retired {
			retiredAt = clk.t
		}
	}
	rep, err := d2.Run(context.Background(), p)
	if err != nil || rep.Outcome != rollout.Succeeded || has(c, "Deployment", "fraud-v1") {
		t.Fatalf("resumed bake: %s, %v; v1 kept: %v", rep.Outcome, err, has(c, "Deployment", "fraud-v1"))
	}
	if got := retiredAt.Sub(promotedAt); got != 10*time.Minute {
		t.Errorf("retired %s after promotion, want the bake time, 10m; events:\n%s", got, strings.Join(events, "\n"))
	}
	if !strings.Contains(strings.Join(events, "\n"), "baking 02-promoted: v1 is retired in 6m0s") {
		t.Errorf("the resumed run does not wait what is left:\n%s", strings.Join(events, "\n"))
	}

	// A failed analysis during the bake rolls back: v1 was still there.
	c = applytest.NewServerSideCluster(nil)
	events = nil
	g = &scripted{answers: []rollout.Conclusion{rollout.Pass, rollout.Pass, rollout.Fail}}
	d = driver(c, g, &events)
	d.Interval, d.Now, d.Sleep = time.Minute, clk.now, clk.sleep
	rep, err = d.Run(context.Background(), p)
	if err != nil || rep.Outcome != rollout.RolledBack || liveStep(t, c, p) != "00-baseline" || !strings.Contains(strings.Join(events, "\n"), "rolling back from 02-promoted") {
		t.Errorf("a failure during the bake: %s (%v) at %s; events:\n%s", rep.Outcome, err, liveStep(t, c, p), strings.Join(events, "\n"))
	}
}

// TestDriverGivesTheStepsStart: the gate is told when the cluster reached
// the step, and a resumed run tells it the same time (from the record),
// not when the run began.
func TestDriverGivesTheStepsStart(t *testing.T) {
	clk := &clock{t: time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)}
	c := applytest.NewServerSideCluster(nil)
	var events []string
	var since []time.Time
	ctx, stop := context.WithCancel(context.Background())
	g := rollout.GateFunc(func(_ context.Context, tg rollout.Target) (rollout.Verdict, error) {
		since = append(since, tg.Since)
		if len(since) == 1 {
			stop()
		}
		return rollout.Verdict{Result: rollout.Pass}, nil
	})
	d := driver(c, g, &events)
	d.Interval, d.Passes, d.Now, d.Sleep = time.Minute, 2, clk.now, clk.sleep
	start := clk.t
	if _, err := d.Run(ctx, plan(t)); !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	clk.t = clk.t.Add(time.Hour)
	if rep, err := d.Run(context.Background(), plan(t)); err != nil || rep.Outcome != rollout.Succeeded {
		t.Fatal(rep.Outcome, err)
	}
	// 01-canary-10: once in the first run, twice in the second; then
	// 02-canary-50, reached in the second run.
	if len(since) != 5 || !since[0].Equal(start) || !since[1].Equal(start) || !since[2].Equal(start) || !since[3].After(start.Add(time.Hour)) {
		t.Errorf("steps' starts told the gate: %v; want %v three times for 01-canary-10, then the later 02-canary-50's", since, start)
	}
}

// has reports whether c holds an object of kind and name in ml.
func has(c *applytest.Cluster, kind, name string) bool {
	for _, o := range c.Objects() {
		if o.GetKind() == kind && o.GetName() == name && o.GetNamespace() == "ml" {
			return true
		}
	}
	return false
}
