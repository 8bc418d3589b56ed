package observe_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/mlmesh/mlmesh/apply/applytest"
	"github.com/mlmesh/mlmesh/internal/scenarios"
	"github.com/mlmesh/mlmesh/observe"
	"github.com/mlmesh/mlmesh/rollout"
)

// gathered reads a registry as "name{label=value,...} value" lines, sorted.
func gathered(t *testing.T, reg *prometheus.Registry) string {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var ls []string
			for _, l := range m.GetLabel() {
				ls = append(ls, l.GetName()+"="+l.GetValue())
			}
			v := m.GetGauge().GetValue()
			if m.GetCounter() != nil {
				v = m.GetCounter().GetValue()
			}
			lines = append(lines, fmt.Sprintf("%s{%s} %g", mf.GetName(), strings.Join(ls, ","), v))
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// TestRolloutCollector follows a rollout that fails at 50% and is rolled
// back: after each event the metrics say where it is.
func TestRolloutCollector(t *testing.T) {
	app := scenarios.AlgorithmSelector(false, "")
	p, err := rollout.NewPlan(app, "algo-selector", "v2", rollout.Strategy{Steps: []int32{10, 50}})
	if err != nil {
		t.Fatal(err)
	}
	c := applytest.NewServerSideCluster(nil)
	c.Default = func(u *unstructured.Unstructured) { // the Deployment controller: ready at once
		if u.GetKind() == "Deployment" {
			_ = unstructured.SetNestedSlice(u.Object, []any{map[string]any{"type": "Available", "status": "True"}}, "status", "conditions")
		}
	}
	col := observe.NewRolloutCollector()
	reg := prometheus.NewRegistry()
	reg.MustRegister(col)
	var at50 string
	gate := rollout.GateFunc(func(_ context.Context, tg rollout.Target) (rollout.Verdict, error) {
		if tg.Step.Weight == 50 {
			at50 = gathered(t, reg)
			return rollout.Verdict{Result: rollout.Fail}, nil
		}
		return rollout.Verdict{Result: rollout.Pass}, nil
	})
	d := rollout.Driver{Client: c, Gate: gate, Sleep: func(context.Context, time.Duration) error { return nil }}
	d.Progress = col.Watch(p, nil)
	rep, err := d.Run(context.Background(), p)
	if err != nil || rep.Outcome != rollout.RolledBack {
		t.Fatalf("%s, %v", rep.Outcome, err)
	}
	for _, want := range []string{
		"mlmesh_rollout_weight{model=algo-selector,namespace=algorithm-selector,version=v2} 50",
		"mlmesh_rollout_weight{model=algo-selector,namespace=algorithm-selector,version=v1} 50",
		"mlmesh_rollout_step{model=algo-selector,namespace=algorithm-selector,phase=canary,step=02-canary-50} 2",
		"mlmesh_rollout_status{candidate=v2,model=algo-selector,namespace=algorithm-selector,status=running} 1",
		"mlmesh_rollout_analyses_total{candidate=v2,conclusion=pass,model=algo-selector,namespace=algorithm-selector} 1",
	} {
		if !strings.Contains(at50, want) {
			t.Errorf("at 50%%, no %s in\n%s", want, at50)
		}
	}
	end := gathered(t, reg)
	for _, want := range []string{
		"mlmesh_rollout_weight{model=algo-selector,namespace=algorithm-selector,version=v2} 0",
		"mlmesh_rollout_weight{model=algo-selector,namespace=algorithm-selector,version=v1} 100",
		"mlmesh_rollout_step{model=algo-selector,namespace=algorithm-selector,phase=baseline,step=00-baseline} 0",
		"mlmesh_rollout_status{candidate=v2,model=algo-selector,namespace=algorithm-selector,status=rolled back} 1",
		"mlmesh_rollout_failed_analyses{model=algo-selector,namespace=algorithm-selector} 1",
		"mlmesh_rollout_analyses_total{candidate=v2,conclusion=fail,model=algo-selector,namespace=algorithm-selector} 1",
	} {
		if !strings.Contains(end, want) {
			t.Errorf("after the rollback, no %s in\n%s", want, end)
		}
	}
	if strings.Count(end, "mlmesh_rollout_status{") != 1 || strings.Count(end, "mlmesh_rollout_step{") != 1 {
		t.Errorf("one status and one step series per rollout:\n%s", end)
	}
}
