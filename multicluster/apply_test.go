package multicluster_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/mlmesh/mlmesh/apply"
	"github.com/mlmesh/mlmesh/apply/applytest"
	"github.com/mlmesh/mlmesh/internal/meshcheck"
	"github.com/mlmesh/mlmesh/internal/scenarios/regions"
	"github.com/mlmesh/mlmesh/multicluster"
	"github.com/mlmesh/mlmesh/render"
	"github.com/mlmesh/mlmesh/routing"
)

// fleetClients are in-memory API servers for the scenario's clusters,
// each counting its requests; after every write to any of them, the fleet
// is checked for routes that would fail (watch.problems).
func fleetClients() (map[string]apply.Client, map[string]*applytest.Counter, map[string]*applytest.Cluster, *watch) {
	clients, counters, clusters := map[string]apply.Client{}, map[string]*applytest.Counter{}, map[string]*applytest.Cluster{}
	w := &watch{clusters: clusters}
	for _, c := range []string{"eu-1", "us-1", "canary"} {
		clusters[c] = applytest.NewServerSideCluster(nil)
		counters[c] = applytest.NewCounter(clusters[c])
		clients[c] = &applytest.Watched{Client: counters[c], Mu: &w.mu, After: w.check}
	}
	return clients, counters, clusters, w
}

// watch checks the fleet after every write.
type watch struct {
	mu       sync.Mutex
	clusters map[string]*applytest.Cluster
	problems []string
}

func (w *watch) check() { w.problems = append(w.problems, dangling(w.clusters)...) }

// dangling checks each cluster as its proxies see the mesh.
func dangling(clusters map[string]*applytest.Cluster) []string {
	live := map[string][]*unstructured.Unstructured{}
	for name, c := range clusters {
		live[name] = c.Objects()
	}
	return meshcheck.DanglingAcross(live)
}

// TestApply: the fleet applies to every cluster; applied again it sends
// nothing; v2 retired and v1 moved into the canary cluster, every
// cluster's routes leave v2 before any cluster loses its subset or pods,
// and a route never names what no cluster has.
func TestApply(t *testing.T) {
	ctx := context.Background()
	clients, counters, clusters, w := fleetClients()
	objs := fleetObjects(t)
	if _, err := multicluster.Apply(ctx, clients, objs, multicluster.ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	if d := dangling(clusters); len(d) > 0 {
		t.Errorf("after the first apply: %v", d)
	}
	w.problems = nil // while the first apply builds the fleet up, routes may precede other clusters' pods
	before := map[string]applytest.Snapshot{}
	for c, n := range counters {
		before[c] = n.Snapshot()
	}
	if _, err := multicluster.Apply(ctx, clients, objs, multicluster.ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	for c, n := range counters {
		// One List per kind and namespace, for the three phases and the
		// pruning's read together, and nothing else.
		for _, p := range n.UnchangedSince(before[c]) {
			t.Errorf("%s: re-applying the unchanged fleet: %s", c, p)
		}
		t.Logf("%s: re-apply: %d Lists", c, n.Counts().Lists-before[c].Counts.Lists)
	}

	next := movedFleet(t)
	results, err := multicluster.Apply(ctx, clients, next, multicluster.ApplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(w.problems) > 0 {
		t.Errorf("at some point of the move a route failed: %v", slices.Compact(w.problems))
	}
	for _, r := range results {
		var seq []string
		for _, o := range r.Objects {
			if o.Outcome != apply.Unchanged {
				seq = append(seq, fmt.Sprintf("%s %s", o.Object, o.Outcome))
			}
		}
		got := strings.Join(seq, "; ")
		t.Logf("%s: %s", r.Cluster, got)
		// The DestinationRule keeps v2's subset (widened: as it was)
		// until the routes have moved, then drops it.
		route := strings.Index(got, "VirtualService fraud/fraud configured")
		if route < 0 || strings.Index(got, "DestinationRule fraud/fraud configured") < route {
			t.Errorf("%s: the subset was dropped before the route moved: %s", r.Cluster, got)
		}
		if r.Cluster == "canary" && (strings.Index(got, "Deployment fraud/fraud-v1 created") > route || strings.Index(got, "Deployment fraud/fraud-v2 deleted") < route) {
			t.Errorf("canary: v1 is not created before the route moves, or v2 not deleted after: %s", got)
		}
	}
	for name, c := range clusters {
		for _, o := range c.Objects() {
			if o.GetName() == "fraud-v2" {
				t.Errorf("%s still has %s fraud-v2", name, o.GetKind())
			}
		}
	}
	// What mlmesh applied in istio-system for another App stays: only the
	// App's own namespaces are pruned.
	other := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "networking.istio.io/v1", "kind": "Gateway",
		"metadata": map[string]any{"name": "other-app-gateway", "namespace": "istio-system", "labels": map[string]any{"app.kubernetes.io/managed-by": "mlmesh"}}}}
	if _, err := clusters["eu-1"].Apply(ctx, other, apply.PatchOptions{FieldManager: "other"}); err != nil {
		t.Fatal(err)
	}
	if _, err := multicluster.Apply(ctx, clients, next, multicluster.ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := clusters["eu-1"].Get(ctx, other.GroupVersionKind(), "istio-system", "other-app-gateway"); err != nil {
		t.Errorf("another App's Gateway in istio-system: %v", err)
	}
}

// TestApplyStopsAtAFailure: a cluster that fails in the first phase stops
// every cluster's routes, and the error names it.
func TestApplyStopsAtAFailure(t *testing.T) {
	clients, _, clusters, _ := fleetClients()
	objs := fleetObjects(t)
	clusters["canary"].FailOn = 3 // its third apply: in the first phase
	_, err := multicluster.Apply(context.Background(), clients, objs, multicluster.ApplyOptions{})
	if err == nil || !strings.Contains(err.Error(), "cluster canary") || !errors.Is(err, applytest.ErrInjected) {
		t.Fatalf("%v, want the canary cluster named", err)
	}
	for name, c := range clusters {
		for _, o := range c.Objects() {
			if o.GetKind() == "VirtualService" {
				t.Errorf("%s has a route although the canary cluster failed", name)
			}
		}
	}
}

// TestApplyNegativeControl: the same move made cluster by cluster, each
// all at once (the canary cluster first), leaves routes to v2 in eu-1 and
// us-1 while no cluster has its pods any more: the watch sees it.
func TestApplyNegativeControl(t *testing.T) {
	ctx := context.Background()
	clients, _, _, w := fleetClients()
	objs := fleetObjects(t)
	if _, err := multicluster.Apply(ctx, clients, objs, multicluster.ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	w.problems = nil
	next := movedFleet(t)
	for _, c := range []string{"canary", "eu-1", "us-1"} {
		live, err := apply.Managed(ctx, clients[c], "fraud")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := apply.Transition(ctx, clients[c], live, next[c], apply.TransitionOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if !slices.ContainsFunc(w.problems, func(p string) bool { return strings.HasPrefix(p, "eu-1: ") && strings.Contains(p, "v2") }) {
		t.Errorf("cluster by cluster, the watch saw nothing wrong: %v", w.problems)
	}
}

// movedFleet is regions.Fleet's objects once v2 is retired and v1 runs
// in the canary cluster too.
func movedFleet(t *testing.T) map[string][]render.Object {
	t.Helper()
	app, f := regions.Fleet()
	app.Models[0].Versions = app.Models[0].Versions[:1]
	app.Models[0].Traffic.Rules = []routing.Rule{{Split: []routing.Destination{{Subset: "v1"}}}}
	f.Placement = []multicluster.Placement{{Model: "fraud", Version: "v1", Replicas: map[string]int32{"eu-1": 3, "us-1": 3, "canary": 1}}}
	next, err := multicluster.Build(app, f)
	if err != nil {
		t.Fatal(err)
	}
	return next
}
