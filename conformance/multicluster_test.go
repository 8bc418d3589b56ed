package conformance

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/kustomize/kyaml/resid"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/mlmesh/mlmesh/apply"
	"github.com/mlmesh/mlmesh/apply/applytest"
	"github.com/mlmesh/mlmesh/internal/meshcheck"
	"github.com/mlmesh/mlmesh/internal/scenarios/regions"
	"github.com/mlmesh/mlmesh/multicluster"
	"github.com/mlmesh/mlmesh/render"
	"github.com/mlmesh/mlmesh/rollout"
	"github.com/mlmesh/mlmesh/rollout/promgate"
	"github.com/mlmesh/mlmesh/routing"
)

// fleetBundles are each cluster's objects of regions.Fleet, as bundles.
func fleetBundles(t *testing.T) map[string]*Bundle {
	t.Helper()
	objs := fleetObjects(t)
	out := map[string]*Bundle{}
	for c, list := range objs {
		y, err := render.YAML(list)
		if err != nil {
			t.Fatal(err)
		}
		if out[c], err = ParseBundle("fleet-"+c, y); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// TestFleetClusters checks each cluster's objects of a three-cluster fleet
// (two regions and a canary cluster, two networks) with Istio's own parts,
// cluster by cluster: Istio's validation (no warning) and the CRD schemas
// accept every object (the east-west Gateway in istio-system too); the
// analyzers of the App's namespace, given the pods of every cluster as
// multi-cluster discovery gives them to the mesh, report nothing (given
// one cluster's pods alone they would report each subset another cluster
// runs, IST0173); and in Istio's config generator each
// cluster's sidecars route fraud's requests 90/10 to the subsets v1 and
// v2 whatever the cluster runs, with each subset's cluster carrying the
// outlier detection that locality failover needs. The endpoints other
// clusters contribute, and the failover priorities Envoy gets from them,
// TestFleetFailover checks with all clusters at once.
func TestFleetClusters(t *testing.T) {
	crds, err := IstioCRDs()
	if err != nil {
		t.Fatal(err)
	}
	bundles := fleetBundles(t)
	var pods []byte
	for _, b := range bundles {
		p, err := Pods(b)
		if err != nil {
			t.Fatal(err)
		}
		pods = append(pods, p...)
	}
	// The negative control: eu-1's analyzers with eu-1's pods alone see
	// that no pod of v2, which only the canary cluster runs, is there.
	own, err := Pods(bundles["eu-1"])
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := Analyze("fraud", bundles["eu-1"].YAML, own, []byte(IngressGatewayFixture))
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 || msgs[0].Type.Code() != "IST0173" || !strings.Contains(msgs[0].String(), "Subset v2") {
		t.Errorf("eu-1 with its own pods alone: %v, want IST0173 for v2", msgs)
	}
	for c, b := range bundles {
		t.Run(c, func(t *testing.T) {
			for _, o := range b.Objects {
				if IsIstio(o) {
					warnings, err := ValidateIstio(o)
					if err != nil || len(warnings) > 0 {
						t.Errorf("%s: Istio validation: %v %v", Describe(o), err, warnings)
					}
				}
				if HasCRD(o) {
					for _, e := range crds.Check(o) {
						t.Errorf("%s: CRD schema: %v", Describe(o), e)
					}
				}
			}
			// The analyzers see one cluster; given the pods of every
			// cluster, as multi-cluster discovery gives them to the mesh,
			// each subset selects the pods some cluster runs.
			msgs, err := Analyze(b.Namespace(), b.YAML, pods, []byte(IngressGatewayFixture), nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range msgs {
				t.Errorf("analyzer: %s", m.String())
			}
			m, err := NewMesh(t, b, "fraud", false)
			if err != nil {
				t.Fatal(err)
			}
			routes := table(m.Server.Routes(m.Sidecar))
			got := fmt.Sprint(routes["8501"]["fraud.fraud.svc.cluster.local"])
			if want := "map[" + Cluster(8501, "v1", "fraud.fraud.svc.cluster.local") + ":90 " + Cluster(8501, "v2", "fraud.fraud.svc.cluster.local") + ":10]"; !strings.Contains(got, want) {
				t.Errorf("sidecar routes of fraud: %s, want %s", got, want)
			}
			outliers := 0
			for _, cl := range m.Server.Clusters(m.Sidecar) {
				for _, v := range []string{"v1", "v2"} {
					if cl.Name == Cluster(8501, v, "fraud.fraud.svc.cluster.local") && cl.OutlierDetection.GetConsecutive_5Xx().GetValue() == 5 {
						outliers++
					}
				}
			}
			if outliers != 2 {
				t.Errorf("%d of the subsets' Envoy clusters carry the outlier detection, want 2", outliers)
			}
		})
	}
}

// TestMultiClusterApply applies the three-cluster fleet to three real
// kube-apiservers (the suite's own and two more, each with the mesh's
// CRDs) with multicluster.Apply: concurrently; again with nothing sent (no
// apply, no delete, no Get; one List per kind and namespace); then v2 retired and v1 moved
// into the canary cluster. After every write to any of them, the fleet is
// read back from the three servers and checked as its proxies see it
// (each cluster's own routes, Services and subsets, every cluster's pods):
// no route ever names what is missing.
func TestMultiClusterApply(t *testing.T) {
	ctx := context.Background()
	servers := fleetServers(t)
	w := &serverWatch{servers: servers, t: t}
	clients, counters := map[string]apply.Client{}, map[string]*applytest.Counter{}
	for c, s := range servers {
		counters[c] = applytest.NewCounter(dynamicClient(s))
		clients[c] = &applytest.Watched{Client: counters[c], Mu: &w.mu, After: w.after}
	}
	app, f := regions.Fleet()
	app.Namespace.Name = "fleet-fraud"
	objs, err := multicluster.Build(app, f)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := multicluster.Apply(ctx, clients, objs, multicluster.ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	if p := w.dangling(t); len(p) > 0 {
		t.Errorf("after the first apply: %v", p)
	}
	before := map[string]applytest.Snapshot{}
	for c, n := range counters {
		before[c] = n.Snapshot()
	}
	if _, err := multicluster.Apply(ctx, clients, objs, multicluster.ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	for c, n := range counters {
		for _, p := range n.UnchangedSince(before[c]) {
			t.Errorf("%s: re-applying the unchanged fleet: %s", c, p)
		}
		t.Logf("%s: re-apply: %d Lists, one per kind and namespace", c, n.Counts().Lists-before[c].Counts.Lists)
	}
	w.problems, w.on = nil, true
	app.Models[0].Versions = app.Models[0].Versions[:1]
	app.Models[0].Traffic.Rules = []routing.Rule{{Split: []routing.Destination{{Subset: "v1"}}}}
	f.Placement = []multicluster.Placement{{Model: "fraud", Version: "v1", Replicas: map[string]int32{"eu-1": 3, "us-1": 3, "canary": 1}}}
	next, err := multicluster.Build(app, f)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := multicluster.Apply(ctx, clients, next, multicluster.ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	if len(w.problems) > 0 || w.checks == 0 {
		t.Errorf("during the move (%d checks) a route failed: %v", w.checks, w.problems)
	}
	if has(t, &rolloutEnv{s: servers["canary"]}, "fleet-fraud", "Deployment", "fraud-v2") || !has(t, &rolloutEnv{s: servers["canary"]}, "fleet-fraud", "Deployment", "fraud-v1") {
		t.Error("the canary cluster does not run v1 alone after the move")
	}
	t.Logf("the move: %d checks of the three servers, none failed", w.checks)
}

// fleetServers are three real kube-apiservers for the fleet's clusters:
// the suite's own (eu-1) and two more (us-1, canary), each with the mesh's
// CRDs and istio-system, as clusters with Istio have them. Each test gets
// its own two.
func fleetServers(t *testing.T) map[string]*APIServer {
	t.Helper()
	ctx := context.Background()
	servers := map[string]*APIServer{"eu-1": apiServer(t)}
	for _, c := range []string{"us-1", "canary"} {
		s, err := StartAPIServer()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Stop)
		crds, err := MeshCRDs()
		if err != nil {
			t.Fatal(err)
		}
		ictx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		err = s.InstallCRDs(ictx, crds)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		ns := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": "istio-system"}}}
		if _, err := s.Dynamic.Resource(schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}).Create(ctx, ns, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		servers[c] = s
	}
	return servers
}

// serverWatch reads the fleet back from its API servers and checks it as
// its proxies see it, after every write while on.
type serverWatch struct {
	t        *testing.T
	mu       sync.Mutex
	servers  map[string]*APIServer
	on       bool
	checks   int
	problems []string
}

func (w *serverWatch) dangling(t *testing.T) []string {
	live := map[string][]*unstructured.Unstructured{}
	for c, s := range w.servers {
		live[c] = liveObjects(t, s, "fleet-fraud")
	}
	return meshcheck.DanglingAcross(live)
}

func (w *serverWatch) after() {
	if w.on {
		w.checks++
		w.problems = append(w.problems, w.dangling(w.t)...)
	}
}

// TestMultiClusterKustomize builds each overlay WriteKustomize writes with
// kustomize's own Go API (krusty, as kustomize build, Argo CD and Flux
// run it) and compares what it renders with the cluster's objects: the
// same set, every object meaning the same (as parsed YAML). The negative
// control drops an object from the canary overlay: the comparison sees it.
func TestMultiClusterKustomize(t *testing.T) {
	objs := fleetObjects(t)
	dir := t.TempDir()
	overlays, err := multicluster.WriteKustomize(dir, objs)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range overlays {
		c := filepath.Base(o)
		if d := kustomizeDiff(t, o, objs[c]); d != "" {
			t.Errorf("%s: kustomize build differs from the cluster's objects: %s", c, d)
		}
	}
	k := filepath.Join(dir, "overlays", "canary", "kustomization.yaml")
	b, err := os.ReadFile(k)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if err := os.WriteFile(k, []byte(strings.Join(lines[:len(lines)-1], "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if kustomizeDiff(t, filepath.Dir(k), objs["canary"]) == "" {
		t.Error("an object dropped from the canary overlay: the comparison saw nothing")
	}
}

// kustomizeDiff builds the kustomization in dir with krusty and says how
// its objects differ from want ("" when they do not).
func kustomizeDiff(t *testing.T, dir string, want []render.Object) string {
	t.Helper()
	res, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]any{}
	for _, r := range res.Resources() {
		m, err := r.Map()
		if err != nil {
			t.Fatal(err)
		}
		got[r.CurId().String()] = m
	}
	var problems []string
	seen := 0
	for _, o := range want {
		y, err := render.MarshalYAML(o)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := sigsyaml.Unmarshal(y, &m); err != nil {
			t.Fatal(err)
		}
		gvk := o.GetObjectKind().GroupVersionKind()
		id := resid.NewResIdWithNamespace(resid.NewGvk(gvk.Group, gvk.Version, gvk.Kind), o.GetName(), o.GetNamespace()).String()
		g, ok := got[id]
		switch {
		case !ok:
			problems = append(problems, "missing "+id)
		case !reflect.DeepEqual(normalJSON(t, g), normalJSON(t, m)):
			problems = append(problems, "differs "+id)
		default:
			seen++
		}
	}
	if len(got) != len(want) {
		problems = append(problems, fmt.Sprintf("%d objects built, want %d", len(got), len(want)))
	}
	return strings.Join(problems, "; ")
}

// normalJSON is v through JSON, so that numbers and maps compare alike.
func normalJSON(t *testing.T, v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestMultiClusterWaves rolls fraud's v2 out on three real kube-apiservers
// in waves (the canary cluster, then eu-1 and us-1), each cluster's Driver
// with its own gate (scripted here; on a real global Prometheus in
// TestMultiClusterWavesPrometheus): a healthy v2 is promoted in every cluster; one
// failing in us-1 is rolled back there, and eu-1 and the canary cluster,
// which took it, are rolled back too, each record saying why; one failing
// in the canary cluster is rolled back there and eu-1 and us-1 are never
// touched.
func TestMultiClusterWaves(t *testing.T) {
	servers := fleetServers(t)
	for i, tc := range []struct {
		name, failIn string
		want         map[string]string
	}{
		{"healthy", "", map[string]string{"canary": "03-promoted", "eu-1": "03-promoted", "us-1": "03-promoted"}},
		{"failing-us", "us-1", map[string]string{"canary": "00-baseline", "eu-1": "00-baseline", "us-1": "00-baseline"}},
		{"failing-canary", "canary", map[string]string{"canary": "00-baseline", "eu-1": "", "us-1": ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns := fmt.Sprintf("waves-%d", i)
			app, f := regions.Fleet()
			app.Namespace.Name = ns
			app.Models[0].Traffic.Rules[0].Split[0].Weight, app.Models[0].Traffic.Rules[0].Split[1].Weight = 100, 0
			plans, err := multicluster.NewRolloutPlans(app, f, "fraud", "v2", rollout.Strategy{Steps: []int32{10, 50}, KeepStable: true})
			if err != nil {
				t.Fatal(err)
			}
			drivers := map[string]*rollout.Driver{}
			for c, s := range servers {
				result := rollout.Pass
				if c == tc.failIn {
					result = rollout.Fail
				}
				drivers[c] = &rollout.Driver{Client: dynamicClient(s), SkipAvailability: true, Sleep: func(context.Context, time.Duration) error { return nil },
					Gate: rollout.GateFunc(func(context.Context, rollout.Target) (rollout.Verdict, error) {
						return rollout.Verdict{Result: result}, nil
					}),
					Progress: func(e rollout.Event) { t.Logf("%s: %s", c, e) }}
			}
			runWaves(t, servers, ns, plans, drivers, tc.want)
			if tc.failIn == "us-1" {
				rec, _, err := rollout.Status(context.Background(), dynamicClient(servers["eu-1"]), ns, "fraud")
				if err != nil || rec.Outcome != rollout.RolledBack || !strings.Contains(rec.Reason, "cluster us-1 rolled back") {
					t.Errorf("eu-1's record: %s %q %v", rec.Outcome, rec.Reason, err)
				}
			}
		})
	}
}

// fleetObjects are regions.Fleet's objects, by cluster.
func fleetObjects(t *testing.T) map[string][]render.Object {
	t.Helper()
	objs, err := multicluster.Build(regions.Fleet())
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// TestMultiClusterWavesPrometheus rolls fraud's v2 out in waves (the
// canary cluster, then eu-1 and us-1) on three real kube-apiservers, each
// cluster's Driver gated on one global Prometheus — a real one scraping
// each cluster's Istio metrics with the label cluster="<name>" — through
// promgate.Options.Labels. v2 answers well in the canary cluster and eu-1
// but fails half its requests in us-1: the canary wave passes, us-1 fails
// in the second, and every cluster that took v2 is rolled back, us-1's
// record naming its failed analysis. The negative control gates without
// the cluster label: the canary's gate then reads us-1's failures too and
// rolls the canary back, the other clusters never touched — which is why
// each cluster's gate names its cluster.
func TestMultiClusterWavesPrometheus(t *testing.T) {
	servers := fleetServers(t)
	exporters, targets := map[string]*IstioExporter{}, map[string]string{}
	for c := range servers {
		e, err := StartIstioExporter()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(e.Close)
		exporters[c], targets[c] = e, e.Addr
	}
	prom, err := StartPrometheusWith(exporters["eu-1"].Addr, PrometheusOptions{Clusters: targets})
	if err != nil {
		if os.Getenv("MLMESH_REQUIRE_APISERVER") == "" {
			t.Skipf("no Prometheus: %v", err)
		}
		t.Fatal(err)
	}
	t.Cleanup(prom.Close)
	waitScraped(t, prom)
	api, err := promgate.NewAPI(prom.URL)
	if err != nil {
		t.Fatal(err)
	}
	for i, tc := range []struct {
		name     string
		labelled bool
		want     map[string]string
	}{
		{"labelled", true, map[string]string{"canary": "00-baseline", "eu-1": "00-baseline", "us-1": "00-baseline"}},
		{"negative control: one gate for all", false, map[string]string{"canary": "00-baseline", "eu-1": "", "us-1": ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns := fmt.Sprintf("waves-prom-%d", i)
			for c, e := range exporters {
				failing := 0.0
				if c == "us-1" {
					failing = 0.5
				}
				e.Set(ns, "fraud", "v1", Traffic{RPS: 50, Latency: 20 * time.Millisecond})
				e.Set(ns, "fraud", "v2", Traffic{RPS: 20, ErrorRatio: failing, Latency: 20 * time.Millisecond})
			}
			app, f := regions.Fleet()
			app.Namespace.Name = ns
			app.Models[0].Traffic.Rules[0].Split[0].Weight, app.Models[0].Traffic.Rules[0].Split[1].Weight = 100, 0
			plans, err := multicluster.NewRolloutPlans(app, f, "fraud", "v2", rollout.Strategy{Steps: []int32{50}, KeepStable: true})
			if err != nil {
				t.Fatal(err)
			}
			drivers := map[string]*rollout.Driver{}
			for c, s := range servers {
				opts := promgate.Options{Window: rolloutWindow, MinRequests: 5}
				if tc.labelled {
					opts.Labels = map[string]string{"cluster": c}
				}
				g, err := promgate.New(api, opts, promgate.SuccessRate(99))
				if err != nil {
					t.Fatal(err)
				}
				drivers[c] = &rollout.Driver{Client: dynamicClient(s), Gate: g, Interval: rolloutInterval, Failures: 1, SkipAvailability: true,
					Progress: func(e rollout.Event) { t.Logf("%s: %s", c, e) }}
			}
			runWaves(t, servers, ns, plans, drivers, tc.want)
			if tc.labelled {
				rec, _, err := rollout.Status(context.Background(), dynamicClient(servers["us-1"]), ns, "fraud")
				if err != nil || rec.Outcome != rollout.RolledBack {
					t.Errorf("us-1's record: %s %q %v", rec.Outcome, rec.Reason, err)
				}
				t.Logf("us-1's record: %s: %s", rec.Outcome, rec.Reason)
				rec, _, err = rollout.Status(context.Background(), dynamicClient(servers["canary"]), ns, "fraud")
				if err != nil || rec.Outcome != rollout.RolledBack || !strings.Contains(rec.Reason, "cluster us-1") {
					t.Errorf("the canary's record: %s %q %v", rec.Outcome, rec.Reason, err)
				}
			}
		})
	}
}

// runWaves rolls the plans out in two waves (the canary cluster, then eu-1
// and us-1) and checks the step each cluster ends at ("" for untouched).
func runWaves(t *testing.T, servers map[string]*APIServer, ns string, plans map[string]*rollout.Plan, drivers map[string]*rollout.Driver, want map[string]string) {
	t.Helper()
	if _, err := (multicluster.Waves{Plans: plans, Drivers: drivers, Waves: [][]string{{"canary"}, {"eu-1", "us-1"}}}).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	for c, w := range want {
		if got := stepOf(t, servers[c], ns, plans[c]); got != w {
			t.Errorf("%s is at %q, want %q", c, got, w)
		}
	}
}

// stepOf is the step of p that the live objects of ns on s are at, "" when
// none (the rollout never touched the cluster).
func stepOf(t *testing.T, s *APIServer, ns string, p *rollout.Plan) string {
	t.Helper()
	var live []render.Object
	for _, o := range liveObjects(t, s, ns) {
		live = append(live, o)
	}
	if at, found, err := p.Locate(live); err == nil && found {
		return p.Steps[at].Name()
	}
	return ""
}
