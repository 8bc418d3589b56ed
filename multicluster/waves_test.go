package multicluster_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/mlmesh/mlmesh/apply"
	"github.com/mlmesh/mlmesh/apply/applytest"
	"github.com/mlmesh/mlmesh/internal/scenarios/regions"
	"github.com/mlmesh/mlmesh/multicluster"
	"github.com/mlmesh/mlmesh/rollout"
)

// waveFleet is the fleet before v2 takes traffic: v1 alone in every rule,
// v2 deployed, dark, in the canary cluster.
func waveFleet(t *testing.T) (map[string]*rollout.Plan, map[string]*applytest.Cluster) {
	t.Helper()
	app, f := regions.Fleet()
	app.Models[0].Traffic.Rules[0].Split[0].Weight, app.Models[0].Traffic.Rules[0].Split[1].Weight = 100, 0
	plans, err := multicluster.NewRolloutPlans(app, f, "fraud", "v2", rollout.Strategy{Steps: []int32{10, 50}, KeepStable: true})
	if err != nil {
		t.Fatal(err)
	}
	clusters := map[string]*applytest.Cluster{}
	for c := range plans {
		clusters[c] = applytest.NewServerSideCluster(nil)
		clusters[c].Default = func(u *unstructured.Unstructured) {
			if u.GetKind() == "Deployment" {
				_ = unstructured.SetNestedSlice(u.Object, []any{map[string]any{"type": "Available", "status": "True"}}, "status", "conditions")
			}
		}
	}
	return plans, clusters
}

// weightOf reads a cluster's live step by its plan.
func stepOf(t *testing.T, c *applytest.Cluster, p *rollout.Plan) string {
	t.Helper()
	live, err := apply.Managed(context.Background(), c, p.Namespace)
	if err != nil {
		t.Fatal(err)
	}
	i, found, err := p.Locate(live)
	if err != nil || !found {
		return fmt.Sprintf("none (%v)", err)
	}
	return p.Steps[i].Name()
}

// TestWaves: the canary cluster first, then eu-1 and us-1; a healthy v2
// reaches every cluster; one failing in us-1 rolls back us-1, and the
// clusters that took it (the canary cluster, eu-1) are rolled back too,
// each recording why.
func TestWaves(t *testing.T) {
	for _, tc := range []struct {
		name   string
		failIn string
		want   map[string]string
	}{
		{"healthy", "", map[string]string{"canary": "03-promoted", "eu-1": "03-promoted", "us-1": "03-promoted"}},
		{"failing in us-1", "us-1", map[string]string{"canary": "00-baseline", "eu-1": "00-baseline", "us-1": "00-baseline"}},
		{"failing in the canary cluster", "canary", map[string]string{"canary": "00-baseline", "eu-1": "none", "us-1": "none"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plans, clusters := waveFleet(t)
			drivers := map[string]*rollout.Driver{}
			for c := range plans {
				result := rollout.Pass
				if c == tc.failIn {
					result = rollout.Fail
				}
				drivers[c] = &rollout.Driver{Client: clusters[c], Sleep: func(context.Context, time.Duration) error { return nil },
					Gate: rollout.GateFunc(func(context.Context, rollout.Target) (rollout.Verdict, error) {
						return rollout.Verdict{Result: result}, nil
					})}
			}
			reports, err := multicluster.Waves{Plans: plans, Drivers: drivers, Waves: [][]string{{"canary"}, {"eu-1", "us-1"}}}.Run(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			for c, want := range tc.want {
				if got := stepOf(t, clusters[c], plans[c]); !strings.HasPrefix(got, want) {
					t.Errorf("%s is at %s, want %s (%s)", c, got, want, reports[c].Outcome)
				}
			}
			if tc.failIn == "us-1" {
				rec, _, err := rollout.Status(context.Background(), clusters["eu-1"], "fraud", "fraud")
				if err != nil || rec.Outcome != rollout.RolledBack || !strings.Contains(rec.Reason, "cluster us-1 rolled back") {
					t.Errorf("eu-1's record: %s %q %v", rec.Outcome, rec.Reason, err)
				}
			}
		})
	}
}

// TestWavesRefuse: several waves of plans that retire the stable version
// are refused; so is a cluster in two waves.
func TestWavesRefuse(t *testing.T) {
	app, f := regions.Fleet()
	app.Models[0].Traffic.Rules[0].Split[0].Weight, app.Models[0].Traffic.Rules[0].Split[1].Weight = 100, 0
	plans, err := multicluster.NewRolloutPlans(app, f, "fraud", "v2", rollout.Strategy{Steps: []int32{10}})
	if err != nil {
		t.Fatal(err)
	}
	drivers := map[string]*rollout.Driver{"canary": {}, "eu-1": {}, "us-1": {}}
	if _, err := (multicluster.Waves{Plans: plans, Drivers: drivers, Waves: [][]string{{"canary"}, {"eu-1"}}}).Run(context.Background()); err == nil || !strings.Contains(err.Error(), "Strategy.KeepStable") {
		t.Errorf("retiring plans in two waves: %v", err)
	}
	if _, err := (multicluster.Waves{Plans: plans, Drivers: drivers, Waves: [][]string{{"canary", "canary"}}}).Run(context.Background()); err == nil || !strings.Contains(err.Error(), "names cluster canary again") {
		t.Errorf("a cluster twice: %v", err)
	}
}
