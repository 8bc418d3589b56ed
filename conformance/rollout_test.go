package conformance

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/mlmesh/mlmesh/apply"
	"github.com/mlmesh/mlmesh/internal/meshcheck"
	"github.com/mlmesh/mlmesh/internal/order"
	"github.com/mlmesh/mlmesh/internal/scenarios"
	"github.com/mlmesh/mlmesh/mesh"
	"github.com/mlmesh/mlmesh/observe"
	"github.com/mlmesh/mlmesh/render"
	"github.com/mlmesh/mlmesh/rollout"
	"github.com/mlmesh/mlmesh/rollout/promgate"
	"github.com/mlmesh/mlmesh/routing"
	"github.com/mlmesh/mlmesh/slo"
)

// The rollout tests run a real Prometheus scraping an exporter of Istio's
// standard metrics whose traffic follows the live routes: every 200 ms a
// follower reads the model's route (a VirtualService, or an HTTPRoute in
// the Gateway API and ambient dialects) from the API server and gives each
// version its share of 100 requests a second, with the error ratio and
// latency the test chose for it. The follower also does the Deployment
// controller's part: it marks the model's Deployments Available (the
// candidate's only once the test lets it), since the suite runs no
// controllers.
const (
	rolloutInterval = 3 * time.Second // between a step and its analysis
	rolloutWindow   = 3 * time.Second // the range of the queries, three scrapes
	totalRPS        = 100.0
)

var vsGVK = schema.GroupVersionKind{Group: "networking.istio.io", Version: "v1", Kind: "VirtualService"}
var httpRouteGVK = schema.GroupVersionKind{Group: "gateway.networking.k8s.io", Version: "v1", Kind: "HTTPRoute"}

// dialect is a routing dialect the rollout tests run in, and the reporter
// of Istio's metrics there.
type dialect struct {
	name     string
	api      mesh.API
	ambient  bool
	reporter string
}

var dialects = []dialect{
	{"istio", mesh.IstioAPI, false, promgate.ReporterDestination},
	{"gateway", mesh.GatewayAPI, false, promgate.ReporterDestination},
	{"ambient", mesh.GatewayAPI, true, promgate.ReporterWaypoint},
}

// rolloutEnv is the Prometheus, exporter and API server of the tests.
type rolloutEnv struct {
	s    *APIServer
	exp  *IstioExporter
	prom *Prometheus
}

func startRolloutEnv(t *testing.T) *rolloutEnv {
	t.Helper()
	s := apiServer(t)
	exp, err := StartIstioExporter()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(exp.Close)
	prom, err := StartPrometheus(exp.Addr)
	if err != nil {
		if os.Getenv("MLMESH_REQUIRE_APISERVER") == "" {
			t.Skipf("no Prometheus (set MLMESH_REQUIRE_APISERVER to make this a failure): %v", err)
		}
		t.Fatal(err)
	}
	t.Cleanup(prom.Close)
	waitScraped(t, prom)
	return &rolloutEnv{s: s, exp: exp, prom: prom}
}

// waitScraped waits until prom has scraped its target once.
func waitScraped(t *testing.T, prom *Prometheus) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for !prom.Up(ctx) {
		if ctx.Err() != nil {
			t.Fatal("Prometheus never scraped the exporter")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// follower is the traffic and the Deployment controller of one model.
type follower struct {
	stop func()
	wg   sync.WaitGroup
	// candidateReady, until set, keeps the candidate's Deployment from
	// reporting Available; readyAt is when the follower first said it was.
	candidateReady atomic.Bool
	mu             sync.Mutex
	readyAt        time.Time
}

// Stop stops following and waits for the follower to end.
func (f *follower) Stop() { f.stop(); f.wg.Wait() }

func (f *follower) ready() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.readyAt
}

// follow gives the model's versions in ns their share of the traffic, as
// the live route of dialect d routes it, and marks its Deployments
// Available, until stopped. v1 and v2 are how each version answers.
func (e *rolloutEnv) follow(ns, model string, d dialect, v1, v2 Traffic) *follower {
	ctx, stop := context.WithCancel(context.Background())
	f := &follower{stop: stop}
	f.candidateReady.Store(true)
	e.exp.SetReporter(ns, d.reporter)
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		a := dynamicClient(e.s)
		for ctx.Err() == nil {
			w1, w2, mirror := 100.0, 0.0, 0.0
			if d.api == mesh.IstioAPI {
				if vs, err := a.Get(ctx, vsGVK, ns, model); err == nil {
					w1, w2, mirror = shares(vs)
				}
			} else if r, err := a.Get(ctx, httpRouteGVK, ns, model+"-8501"); err == nil {
				w1, w2 = routeShares(r, model)
			}
			t1, t2 := v1, v2
			t1.RPS = totalRPS * w1 / 100 * v1.RPS
			t2.RPS = totalRPS * (w2 + w1*mirror/100) / 100 * v2.RPS
			e.exp.Set(ns, model, "v1", t1)
			e.exp.Set(ns, model, "v2", t2)
			e.control(ctx, f, ns, model)
			select {
			case <-ctx.Done():
			case <-time.After(200 * time.Millisecond):
			}
		}
	}()
	return f
}

// control marks the model's Deployments Available as the Deployment
// controller would once their pods are ready; the candidate's only while
// f lets it.
func (e *rolloutEnv) control(ctx context.Context, f *follower, ns, model string) {
	list, err := e.s.Dynamic.Resource(deploymentGVR).Namespace(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=" + model})
	if err != nil {
		return
	}
	for i := range list.Items {
		u := &list.Items[i]
		if u.GetName() == model+"-v2" && !f.candidateReady.Load() {
			continue
		}
		if u.GetName() == model+"-v2" {
			f.mu.Lock()
			if f.readyAt.IsZero() {
				f.readyAt = time.Now()
			}
			f.mu.Unlock()
		}
		gen, _, _ := unstructured.NestedInt64(u.Object, "status", "observedGeneration")
		if gen >= u.GetGeneration() && u.Object["status"] != nil {
			continue
		}
		_ = markAvailable(ctx, e.s, u)
	}
}

// shares reads the split of the VirtualService's last HTTP route (the
// default rule) and its mirror percentage.
func shares(vs *unstructured.Unstructured) (v1, v2, mirror float64) {
	http, _, _ := unstructured.NestedSlice(vs.Object, "spec", "http")
	if len(http) == 0 {
		return 100, 0, 0
	}
	last, _ := http[len(http)-1].(map[string]any)
	routes, _ := last["route"].([]any)
	for _, r := range routes {
		m, _ := r.(map[string]any)
		subset, _, _ := unstructured.NestedString(m, "destination", "subset")
		w, _, _ := unstructured.NestedInt64(m, "weight")
		if len(routes) == 1 {
			w = 100
		}
		switch subset {
		case "v1":
			v1 = float64(w)
		case "v2":
			v2 = float64(w)
		}
	}
	if ms, ok := last["mirrors"].([]any); ok && len(ms) > 0 {
		m, _ := ms[0].(map[string]any)
		mirror, _, _ = unstructured.NestedFloat64(m, "percentage", "value")
	}
	return v1, v2, mirror
}

// routeShares reads the split of an HTTPRoute's last rule: its backends'
// weights (the API server defaults a missing weight to 1).
func routeShares(r *unstructured.Unstructured, model string) (v1, v2 float64) {
	rules, _, _ := unstructured.NestedSlice(r.Object, "spec", "rules")
	if len(rules) == 0 {
		return 100, 0
	}
	last, _ := rules[len(rules)-1].(map[string]any)
	refs, _ := last["backendRefs"].([]any)
	total := 0.0
	for _, ref := range refs {
		m, _ := ref.(map[string]any)
		w, found, _ := unstructured.NestedInt64(m, "weight")
		if !found {
			w = 1
		}
		name, _, _ := unstructured.NestedString(m, "name")
		switch name {
		case model + "-v1":
			v1 = float64(w)
		case model + "-v2":
			v2 = float64(w)
		}
		total += float64(w)
	}
	if total == 0 {
		return 0, 0
	}
	return v1 * 100 / total, v2 * 100 / total
}

// dialectApp is algorithm-selector in its own namespace, in dialect d (the
// Gateway API's standard channel has no retries: the mesh's default ones
// apply there).
func dialectApp(ns string, d dialect) mesh.App {
	app := scenarios.AlgorithmSelector(false, d.api)
	if d.api != mesh.IstioAPI {
		app.Models[0].Traffic.Rules[0].Retries = nil
	}
	if d.ambient {
		app = scenarios.Ambient(app)
	}
	app.Namespace.Name = ns
	return app
}

// rolloutPlan is the rollout of v2 in dialectApp.
func rolloutPlan(t *testing.T, ns string, d dialect, s rollout.Strategy) *rollout.Plan {
	t.Helper()
	if s.Steps == nil {
		s.Steps = []int32{10, 50}
	}
	p, err := rollout.NewPlan(dialectApp(ns, d), "algo-selector", "v2", s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// stableAlone applies the App before v2 existed (how every model starts)
// and waits for v1 to be Available.
func (e *rolloutEnv) stableAlone(t *testing.T, ns string, d dialect) {
	t.Helper()
	app := dialectApp(ns, d)
	app.Models[0].Versions = app.Models[0].Versions[:1]
	app.Models[0].Traffic.Rules = []routing.Rule{{Name: "default", Split: []routing.Destination{{Subset: "v1", Weight: 100}}}}
	if _, err := apply.Apply(context.Background(), dynamicClient(e.s), build(t, app), apply.Options{}); err != nil {
		t.Fatal(err)
	}
}

func (e *rolloutEnv) gate(t *testing.T, d dialect, window time.Duration, promURL string) *promgate.Gate {
	t.Helper()
	api, err := promgate.NewAPI(promURL)
	if err != nil {
		t.Fatal(err)
	}
	g, err := promgate.New(api, promgate.Options{Window: window, MinRequests: 5, Reporter: d.reporter},
		promgate.SuccessRate(99), promgate.Latency(0.99, 500*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// driver runs p with the suite's settings, checking after every move that
// the live routes are at the step moved to and that no route names a
// missing host, subset or pods; events go to the log.
func (e *rolloutEnv) driver(t *testing.T, p *rollout.Plan, d dialect, events *[]string) *rollout.Driver {
	return &rollout.Driver{
		Client: dynamicClient(e.s), Gate: e.gate(t, d, rolloutWindow, e.prom.URL), Interval: rolloutInterval, Failures: 2, NoDataLimit: 3,
		Apply: apply.TransitionOptions{WaitTimeout: time.Minute},
		Progress: func(ev rollout.Event) {
			*events = append(*events, ev.String())
			t.Logf("%s: %s", p.Namespace, ev)
			if ev.Kind != rollout.Applied {
				return
			}
			live := liveObjects(t, e.s, p.Namespace)
			if d := meshcheck.Dangling(live); len(d) > 0 {
				t.Errorf("after %s: %s", ev.Step.Name(), strings.Join(d, "; "))
			}
			objs := make([]render.Object, len(live))
			for i, u := range live {
				objs[i] = u
			}
			if i, found, err := p.Locate(objs); err != nil || !found || i != ev.Step.Index {
				t.Errorf("after %s the live routes are at step %d (found %v, %v)", ev.Step.Name(), i, found, err)
			}
		},
	}
}

func (e *rolloutEnv) liveStep(t *testing.T, p *rollout.Plan) string {
	t.Helper()
	live := liveObjects(t, e.s, p.Namespace)
	objs := make([]render.Object, len(live))
	for i, u := range live {
		objs[i] = u
	}
	i, found, err := p.Locate(objs)
	if err != nil || !found {
		t.Fatalf("the live objects are at no step: %v", err)
	}
	return p.Steps[i].Name()
}

func has(t *testing.T, e *rolloutEnv, ns, kind, name string) bool {
	t.Helper()
	for _, u := range liveObjects(t, e.s, ns) {
		if u.GetKind() == kind && u.GetName() == name {
			return true
		}
	}
	return false
}

// forceWeights is a GitOps tool (field manager argocd, server-side,
// forced) setting the model's route to v1/v2 percent.
func (e *rolloutEnv) forceWeights(t *testing.T, ns string, d dialect, v1, v2 int64) {
	t.Helper()
	ctx := context.Background()
	a := dynamicClient(e.s)
	gvk, name := vsGVK, "algo-selector"
	if d.api != mesh.IstioAPI {
		gvk, name = httpRouteGVK, "algo-selector-8501"
	}
	u, err := a.Get(ctx, gvk, ns, name)
	if err != nil {
		t.Fatal(err)
	}
	path, key, field := []string{"spec", "http"}, "route", []string{"destination", "subset"}
	if d.api != mesh.IstioAPI {
		path, key, field = []string{"spec", "rules"}, "backendRefs", []string{"name"}
	}
	rules, _, _ := unstructured.NestedSlice(u.Object, path...)
	last := rules[len(rules)-1].(map[string]any)
	for _, r := range last[key].([]any) {
		m := r.(map[string]any)
		v, _, _ := unstructured.NestedString(m, field...)
		if strings.HasSuffix(v, "v1") {
			m["weight"] = v1
		} else {
			m["weight"] = v2
		}
	}
	_ = unstructured.SetNestedSlice(u.Object, rules, path...)
	u.SetManagedFields(nil)
	u.SetResourceVersion("")
	if _, err := a.Apply(ctx, u, apply.PatchOptions{FieldManager: "argocd", Force: true}); err != nil {
		t.Fatal(err)
	}
}

var healthy = Traffic{RPS: 1, Latency: 20 * time.Millisecond}
var faulty = Traffic{RPS: 1, ErrorRatio: 0.05, Latency: 20 * time.Millisecond}

// TestRollout runs canaries against the real Prometheus and API server,
// in every dialect, through the edges a model registry lives at. After
// every move the live routes must be at the step moved to, with nothing
// dangling (the driver's Progress checks it). A dialect's cases run at
// once (they wait on time, not on the CPU; -parallel would run two).
func TestRollout(t *testing.T) {
	e := startRolloutEnv(t)
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			var wg sync.WaitGroup
			for _, tc := range rolloutCases {
				wg.Add(1)
				go func() {
					defer wg.Done()
					t.Run(tc.name, func(t *testing.T) { tc.run(t, e, "rollout-"+d.name+"-"+tc.name, d) })
				}()
			}
			wg.Wait()
		})
	}
}

type rolloutCase struct {
	name string
	run  func(t *testing.T, e *rolloutEnv, ns string, d dialect)
}

// outcome runs one rollout of v2 answering as v2 does, from v1 alone,
// and checks how it ended and that the events say verdict.
func outcome(v2 Traffic, failures int, want rollout.RunOutcome, verdict string) func(*testing.T, *rolloutEnv, string, dialect) {
	return func(t *testing.T, e *rolloutEnv, ns string, d dialect) {
		e.stableAlone(t, ns, d)
		f := e.follow(ns, "algo-selector", d, healthy, v2)
		defer f.Stop()
		p := rolloutPlan(t, ns, d, rollout.Strategy{})
		var events []string
		dr := e.driver(t, p, d, &events)
		dr.Failures = failures
		rep, err := dr.Run(context.Background(), p)
		if err != nil {
			t.Fatal(err)
		}
		all := strings.Join(events, "\n")
		if rep.Outcome != want || !strings.Contains(all, verdict) {
			t.Errorf("outcome %s, want %s with %q; events:\n%s", rep.Outcome, want, verdict, all)
		}
		checkEnd(t, e, p, want)
		checkChart(t, e, p, d, v2)
	}
}

// checkChart draws the rollout's chart from its record on the API server
// and the real Prometheus, and checks its series: the candidate's weights
// are the steps it reached, every verdict is marked, v1's success rate is
// 100% and its p99 in the bucket of its latency, and v2's figures are the
// ones the exporter was told to produce (its success rate within 1.5
// points, its p99 in its latency's bucket; none at all without traffic).
// With MLMESH_CHART_DIR set, the SVG is kept there.
func checkChart(t *testing.T, e *rolloutEnv, p *rollout.Plan, d dialect, v2 Traffic) {
	t.Helper()
	ctx := context.Background()
	rec, _, err := rollout.Status(ctx, dynamicClient(e.s), p.Namespace, p.Model)
	if err != nil {
		t.Fatal(err)
	}
	api, err := promgate.NewAPI(e.prom.URL)
	if err != nil {
		t.Fatal(err)
	}
	c := observe.NewRolloutChart(rec)
	c.MinSuccess, c.MaxLatency = 99, 500
	if err := c.Query(ctx, api, observe.ChartQuery{Reporter: d.reporter, Window: rolloutWindow, Resolution: time.Second}); err != nil {
		t.Fatal(err)
	}
	reached := map[float64]bool{}
	for _, pt := range c.Weights[1].Points {
		reached[pt.Value] = true
	}
	for _, m := range rec.Moves {
		if !reached[float64(m.Weights["v2"])] {
			t.Errorf("chart: v2's weights %v miss the move to %s", c.Weights[1].Points, m.Step)
		}
	}
	if len(c.Verdicts) != len(rec.Verdicts) || len(rec.Verdicts) == 0 {
		t.Errorf("chart: %d verdicts marked, the record has %d", len(c.Verdicts), len(rec.Verdicts))
	}
	checkFigures(t, "v1", c.Success[0], c.Latency[0], healthy)
	checkFigures(t, "v2", c.Success[1], c.Latency[1], v2)
	var b bytes.Buffer
	if err := c.WriteSVG(&b); err != nil {
		t.Fatal(err)
	}
	if dir := os.Getenv("MLMESH_CHART_DIR"); dir != "" {
		if err := os.WriteFile(filepath.Join(dir, p.Namespace+".svg"), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// checkFigures checks one version's charted figures against how the
// exporter was told it answers.
func checkFigures(t *testing.T, version string, success, latency observe.Series, tr Traffic) {
	t.Helper()
	if tr.RPS == 0 {
		if len(success.Points)+len(latency.Points) > 0 {
			t.Errorf("chart: %s had no traffic, yet has figures: %v %v", version, success.Points, latency.Points)
		}
		return
	}
	if len(success.Points) == 0 || len(latency.Points) == 0 {
		t.Fatalf("chart: no figures of %s: success %v, latency %v", version, success.Points, latency.Points)
	}
	if got, want := median(success), 100*(1-tr.ErrorRatio); math.Abs(got-want) > 1.5 {
		t.Errorf("chart: %s's success rate %.2f%%, want %.2f%% (%v)", version, got, want, success.Points)
	}
	ms := float64(tr.Latency) / float64(time.Millisecond)
	i := sort.SearchFloat64s(slo.IstioBuckets, ms)
	lo := 0.0
	if i > 0 {
		lo = slo.IstioBuckets[i-1]
	}
	if got := median(latency); got <= lo || got > slo.IstioBuckets[i] {
		t.Errorf("chart: %s's p99 %.1f ms, want it in the bucket of %.0f ms, (%g, %g]", version, got, ms, lo, slo.IstioBuckets[i])
	}
}

func median(s observe.Series) float64 {
	v := make([]float64, len(s.Points))
	for i, p := range s.Points {
		v[i] = p.Value
	}
	sort.Float64s(v)
	return v[len(v)/2]
}

// checkEnd checks where a rollout that ended as want left the cluster.
func checkEnd(t *testing.T, e *rolloutEnv, p *rollout.Plan, want rollout.RunOutcome) {
	t.Helper()
	switch want {
	case rollout.Succeeded:
		if got := e.liveStep(t, p); got != p.Steps[len(p.Steps)-1].Name() || has(t, e, p.Namespace, "Deployment", "algo-selector-v1") {
			t.Errorf("after promotion: at %s, v1 Deployment kept: %v", got, has(t, e, p.Namespace, "Deployment", "algo-selector-v1"))
		}
	case rollout.RolledBack:
		if got := e.liveStep(t, p); got != "00-baseline" || !has(t, e, p.Namespace, "Deployment", "algo-selector-v2") {
			t.Errorf("after the rollback: at %s, v2 Deployment kept: %v", got, has(t, e, p.Namespace, "Deployment", "algo-selector-v2"))
		}
	}
}

var rolloutCases = []rolloutCase{
	{"healthy", outcome(healthy, 2, rollout.Succeeded, "success-rate 100% (pass")},
	{"errors", outcome(faulty, 2, rollout.RolledBack, "success-rate 95% (fail: 95% < 99%")},
	{"slow", outcome(Traffic{RPS: 1, Latency: 700 * time.Millisecond}, 2, rollout.RolledBack, "latency-p99 995 ms (fail: 995 ms > 500 ms")},
	{"no-traffic", outcome(Traffic{RPS: 0, Latency: 20 * time.Millisecond}, 1, rollout.RolledBack, "analysed 01-canary-10: no data: requests 0 (no data: 0 requests to algo-selector-v2")},
	// Every request answered 503: no 2xx series at all; a fail at the
	// first analysis, not "no data".
	{"only-5xx", outcome(Traffic{RPS: 1, ErrorRatio: 1, Latency: 20 * time.Millisecond}, 1, rollout.RolledBack, "analysed 01-canary-10: fail: success-rate 0% (fail: 0% < 99%")},
	// A gRPC service failing 5% of its calls with status 14 in HTTP 200s:
	// the gate counts them as the alerts and dashboards do.
	{"grpc-errors", outcome(Traffic{RPS: 1, ErrorRatio: 0.05, Latency: 20 * time.Millisecond, GRPC: true}, 2, rollout.RolledBack, "success-rate 95% (fail: 95% < 99%")},
	{"cancelled", rolloutCancelled},
	{"conflict", rolloutConflict},
	{"drift", rolloutDrift},
	{"restart", rolloutRestart},
	{"rerun", rolloutRerun},
	{"prometheus-gone", rolloutPrometheusGone},
	{"window", rolloutWindowBounded},
	{"unavailable", rolloutUnavailable},
	{"bake", rolloutBake},
}

// rolloutCancelled: a run cancelled after a move stops there; the next
// resumes from it.
func rolloutCancelled(t *testing.T, e *rolloutEnv, ns string, d dialect) {
	p := rolloutPlan(t, ns, d, rollout.Strategy{})
	f := e.follow(ns, "algo-selector", d, healthy, healthy)
	defer f.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	var events []string
	dr := e.driver(t, p, d, &events)
	then(dr, func(ev rollout.Event) {
		if ev.Kind == rollout.Applied && ev.Step.Name() == "02-canary-50" {
			cancel()
		}
	})
	if _, err := dr.Run(ctx, p); !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, got %v", err)
	}
	if got := e.liveStep(t, p); got != "02-canary-50" {
		t.Fatalf("cancelled at %s", got)
	}
	rep, err := e.driver(t, p, d, &events).Run(context.Background(), p)
	if err != nil || rep.Outcome != rollout.Succeeded || rep.Resumed == nil || rep.Resumed.Name() != "02-canary-50" {
		t.Errorf("resumed: %v %v from %v", rep.Outcome, err, rep.Resumed)
	}
}

// rolloutConflict: a GitOps tool forces 80/20 during a failing canary;
// the rollback takes the route's fields from it and restores 100% v1.
func rolloutConflict(t *testing.T, e *rolloutEnv, ns string, d dialect) {
	p := rolloutPlan(t, ns, d, rollout.Strategy{})
	f := e.follow(ns, "algo-selector", d, healthy, faulty)
	defer f.Stop()
	var events []string
	dr := e.driver(t, p, d, &events)
	dr.Failures = 1
	then(dr, func(ev rollout.Event) {
		if ev.Kind == rollout.Applied && ev.Step.Name() == "01-canary-10" {
			e.forceWeights(t, ns, d, 80, 20)
		}
	})
	rep, err := dr.Run(context.Background(), p)
	all := strings.Join(events, "\n")
	if err != nil || rep.Outcome != rollout.RolledBack || !strings.Contains(all, "taking the routes' fields from argocd") {
		t.Fatalf("%s, %v; events:\n%s", rep.Outcome, err, all)
	}
	checkEnd(t, e, p, rollout.RolledBack)
}

// rolloutDrift: a run stopped after one failed analysis; the GitOps tool
// sends everything to v2; the next run rolls back, never promotes, and v1
// is kept.
func rolloutDrift(t *testing.T, e *rolloutEnv, ns string, d dialect) {
	p := rolloutPlan(t, ns, d, rollout.Strategy{})
	f := e.follow(ns, "algo-selector", d, healthy, faulty)
	defer f.Stop()
	stopAfterFirstFailure(t, e, p, d)
	e.forceWeights(t, ns, d, 0, 100)
	var events []string
	rep, err := e.driver(t, p, d, &events).Run(context.Background(), p)
	all := strings.Join(events, "\n")
	if err != nil || rep.Outcome != rollout.RolledBack || !strings.Contains(all, "rolling back from 01-canary-10: drift:") {
		t.Fatalf("%s, %v; events:\n%s", rep.Outcome, err, all)
	}
	checkEnd(t, e, p, rollout.RolledBack)
}

// then has dr call on at every event, after the checks of driver.
func then(dr *rollout.Driver, on func(rollout.Event)) {
	check := dr.Progress
	dr.Progress = func(ev rollout.Event) {
		check(ev)
		on(ev)
	}
}

// stopAfterFirstFailure runs p until its first failed analysis, then
// stops the run (a SIGTERM).
func stopAfterFirstFailure(t *testing.T, e *rolloutEnv, p *rollout.Plan, d dialect) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var events []string
	dr := e.driver(t, p, d, &events)
	then(dr, func(ev rollout.Event) {
		if ev.Kind == rollout.Analysed && ev.Verdict.Result == rollout.Fail {
			cancel()
		}
	})
	if _, err := dr.Run(ctx, p); !errors.Is(err, context.Canceled) {
		t.Fatalf("want the run stopped after a failure, got %v; events:\n%s", err, strings.Join(events, "\n"))
	}
}

// rolloutRestart: stopped after one failed analysis, the next run's first
// failure is the rollout's second: rolled back after one analysis.
func rolloutRestart(t *testing.T, e *rolloutEnv, ns string, d dialect) {
	p := rolloutPlan(t, ns, d, rollout.Strategy{})
	f := e.follow(ns, "algo-selector", d, healthy, faulty)
	defer f.Stop()
	stopAfterFirstFailure(t, e, p, d)
	var events []string
	rep, err := e.driver(t, p, d, &events).Run(context.Background(), p)
	if err != nil || rep.Outcome != rollout.RolledBack || len(rep.Verdicts) != 1 {
		t.Fatalf("%s after %d analyses (%v), want rolled back after 1; events:\n%s", rep.Outcome, len(rep.Verdicts), err, strings.Join(events, "\n"))
	}
	checkEnd(t, e, p, rollout.RolledBack)
}

// rolloutRerun: a rolled-back candidate is refused as it is, and canaried
// again with RetryRolledBack.
func rolloutRerun(t *testing.T, e *rolloutEnv, ns string, d dialect) {
	p := rolloutPlan(t, ns, d, rollout.Strategy{})
	f := e.follow(ns, "algo-selector", d, healthy, faulty)
	var events []string
	dr := e.driver(t, p, d, &events)
	dr.Failures = 1
	if rep, err := dr.Run(context.Background(), p); err != nil || rep.Outcome != rollout.RolledBack {
		t.Fatalf("first run: %s, %v", rep.Outcome, err)
	}
	f.Stop()
	f = e.follow(ns, "algo-selector", d, healthy, healthy)
	defer f.Stop()
	if _, err := e.driver(t, p, d, &events).Run(context.Background(), p); err == nil || !strings.Contains(err.Error(), "was rolled back") {
		t.Fatalf("the rolled-back candidate again: %v", err)
	}
	retry := rolloutPlan(t, ns, d, rollout.Strategy{RetryRolledBack: true})
	if rep, err := e.driver(t, retry, d, &events).Run(context.Background(), retry); err != nil || rep.Outcome != rollout.Succeeded {
		t.Errorf("retried: %s, %v", rep.Outcome, err)
	}
}

// rolloutPrometheusGone: the Prometheus the gate asks stops mid-canary
// (its own, so the other cases keep theirs); after ErrorLimit analyses
// that cannot be made, the rollout is rolled back instead of leaving v2
// its traffic.
func rolloutPrometheusGone(t *testing.T, e *rolloutEnv, ns string, d dialect) {
	prom, err := StartPrometheus(e.exp.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer prom.Close()
	p := rolloutPlan(t, ns, d, rollout.Strategy{})
	f := e.follow(ns, "algo-selector", d, healthy, healthy)
	defer f.Stop()
	var events []string
	dr := e.driver(t, p, d, &events)
	dr.Gate = e.gate(t, d, rolloutWindow, prom.URL)
	dr.ErrorLimit = 2
	then(dr, func(ev rollout.Event) {
		if ev.Kind == rollout.Applied && ev.Step.Name() == "01-canary-10" {
			prom.Stop()
		}
	})
	rep, err := dr.Run(context.Background(), p)
	all := strings.Join(events, "\n")
	if err != nil || rep.Outcome != rollout.RolledBack || !strings.Contains(all, "rolling back from 01-canary-10: after 2 analyses that could not be made") ||
		!strings.Contains(all, "connection refused") {
		t.Fatalf("%s, %v; events:\n%s", rep.Outcome, err, all)
	}
	checkEnd(t, e, p, rollout.RolledBack)
}

// rolloutWindowBounded: v2 answered with errors before the run (a previous
// run's traffic); the gate's window is a minute, far longer than a step;
// each analysis still judges only its step's traffic, and v2, healthy now,
// is promoted.
func rolloutWindowBounded(t *testing.T, e *rolloutEnv, ns string, d dialect) {
	e.exp.SetReporter(ns, d.reporter)
	e.exp.Set(ns, "algo-selector", "v2", Traffic{RPS: 50, ErrorRatio: 0.5, Latency: 20 * time.Millisecond})
	time.Sleep(5 * time.Second)
	p := rolloutPlan(t, ns, d, rollout.Strategy{})
	f := e.follow(ns, "algo-selector", d, healthy, healthy)
	defer f.Stop()
	var events []string
	dr := e.driver(t, p, d, &events)
	dr.Gate = e.gate(t, d, time.Minute, e.prom.URL)
	rep, err := dr.Run(context.Background(), p)
	if err != nil || rep.Outcome != rollout.Succeeded {
		t.Fatalf("%s, %v; events:\n%s", rep.Outcome, err, strings.Join(events, "\n"))
	}
	checkEnd(t, e, p, rollout.Succeeded)
}

// rolloutUnavailable: from v1 alone, v2's pods are not ready for a while:
// no route sends it traffic until its Deployment reports Available.
func rolloutUnavailable(t *testing.T, e *rolloutEnv, ns string, d dialect) {
	e.stableAlone(t, ns, d)
	p := rolloutPlan(t, ns, d, rollout.Strategy{})
	f := e.follow(ns, "algo-selector", d, healthy, healthy)
	defer f.Stop()
	f.candidateReady.Store(false)
	time.AfterFunc(4*time.Second, func() { f.candidateReady.Store(true) })
	var events []string
	dr := e.driver(t, p, d, &events)
	routed := map[string]time.Time{}
	then(dr, func(ev rollout.Event) {
		if ev.Kind == rollout.Applied {
			routed[ev.Step.Name()] = time.Now()
			if y, err := render.YAML(routesOf(t, e, ns)); err == nil && strings.Contains(string(y), "v2") && f.ready().IsZero() {
				t.Errorf("after %s a route names v2 before its Deployment is Available", ev.Step.Name())
			}
		}
	})
	rep, err := dr.Run(context.Background(), p)
	if err != nil || rep.Outcome != rollout.Succeeded {
		t.Fatalf("%s, %v; events:\n%s", rep.Outcome, err, strings.Join(events, "\n"))
	}
	if ready := f.ready(); ready.IsZero() || routed["01-canary-10"].Before(ready) {
		t.Errorf("v2 got 10%% at %v, Available at %v", routed["01-canary-10"], ready)
	}
}

// routesOf are the live routes in ns.
func routesOf(t *testing.T, e *rolloutEnv, ns string) []render.Object {
	var out []render.Object
	for _, u := range liveObjects(t, e.s, ns) {
		if order.IsRoute(u.GroupVersionKind().GroupKind()) {
			out = append(out, u)
		}
	}
	return out
}

// rolloutBake: with RetireAfter, v1 stays deployed, dark, for the bake
// time after promotion, and is retired only after it.
func rolloutBake(t *testing.T, e *rolloutEnv, ns string, d dialect) {
	const bake = 7 * time.Second
	p := rolloutPlan(t, ns, d, rollout.Strategy{RetireAfter: bake})
	f := e.follow(ns, "algo-selector", d, healthy, healthy)
	defer f.Stop()
	var events []string
	dr := e.driver(t, p, d, &events)
	var promoted, retired time.Time
	then(dr, func(ev rollout.Event) {
		switch {
		case ev.Kind == rollout.Applied && ev.Step.Phase == rollout.Promoted:
			promoted = time.Now()
		case ev.Kind == rollout.Applied && ev.Step.Phase == rollout.Retired:
			retired = time.Now()
		case ev.Kind == rollout.Analysed && ev.Step.Phase == rollout.Promoted && !has(t, e, ns, "Deployment", "algo-selector-v1"):
			t.Error("v1 retired during the bake")
		}
	})
	rep, err := dr.Run(context.Background(), p)
	if err != nil || rep.Outcome != rollout.Succeeded {
		t.Fatalf("%s, %v; events:\n%s", rep.Outcome, err, strings.Join(events, "\n"))
	}
	if retired.Sub(promoted) < bake {
		t.Errorf("retired %s after promotion, want at least %s", retired.Sub(promoted), bake)
	}
	checkEnd(t, e, p, rollout.Succeeded)
}

// TestProgressiveExample runs examples/progressive as a user would, against
// the suite's API server and Prometheus: a faulty v2 rolls back (exit 3);
// run again as it is, the rollout record refuses it (exit 1) and -status
// says why; with -retry a healthy v2 starts again from the baseline and is
// promoted (exit 0); a last run finds it promoted (exit 0). Then, from
// nothing again, -api ambient promotes a healthy v2 on HTTPRoutes.
func TestProgressiveExample(t *testing.T) {
	e := startRolloutEnv(t)
	ctx := context.Background()
	const ns = "algorithm-selector"
	a := dynamicClient(e.s)
	bin := filepath.Join(t.TempDir(), "progressive")
	build := exec.Command("go", "build", "-o", bin, "./examples/progressive")
	build.Dir = RepoRoot()
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the example: %v\n%s", err, out)
	}
	kc, err := e.s.Kubeconfig()
	if err != nil {
		t.Fatal(err)
	}
	clean := func() {
		live, err := apply.Managed(ctx, a, ns)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range live {
			if err := a.Delete(ctx, o.GetObjectKind().GroupVersionKind(), ns, o.GetName(), apply.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		if err := a.Delete(ctx, schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, ns, rollout.RecordName("algo-selector"), apply.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			t.Fatal(err)
		}
	}
	clean() // other tests apply the scenario's own state here
	d := dialects[0]
	run := func(v2 Traffic, flags ...string) (int, string) {
		f := e.follow(ns, "algo-selector", d, healthy, v2)
		defer f.Stop()
		cmd := exec.Command(bin, append([]string{"-prometheus", e.prom.URL, "-steps", "10,50,100", "-interval", rolloutInterval.String(),
			"-window", rolloutWindow.String(), "-min-requests", "5", "-failures", "1"}, flags...)...)
		cmd.Env = append(os.Environ(), "KUBECONFIG="+kc)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		code := 0
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			code = exit.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		t.Logf("exit %d:\n%s", code, out.String())
		return code, out.String()
	}
	charts := os.Getenv("MLMESH_CHART_DIR")
	if charts == "" {
		charts = t.TempDir()
	}
	rolledBack, promoted := filepath.Join(charts, "progressive-rolled-back.svg"), filepath.Join(charts, "progressive-promoted.svg")
	if code, out := run(Traffic{RPS: 1, ErrorRatio: 0.2, Latency: 20 * time.Millisecond}, "-chart", rolledBack); code != 3 || !strings.Contains(out, "rolled back: v1 takes all traffic") ||
		!strings.Contains(out, "chart "+rolledBack+": 3 moves, 1 analyses") || !regexp.MustCompile(`v2: success 80–80% \(\d+ points\)`).MatchString(out) {
		t.Errorf("a faulty v2: exit %d", code)
	}
	svgSays(t, rolledBack, "algorithm-selector/algo-selector: v1 → v2 (rolled back)", "v1", "v2", "analysis: fail", "canary-10", "success rate (%)", "latency p99 (ms)", "gate: 99", "gate: 500")
	// The record says v2 was rolled back: run again as it is, it is
	// refused, and -status says why; -retry canaries it again.
	if code, out := run(healthy); code != 1 || !strings.Contains(out, "was rolled back") {
		t.Errorf("the rolled-back v2 again: exit %d", code)
	}
	if code, out := run(healthy, "-status"); code != 0 || !strings.Contains(out, "rolled back (after 1 failed analysis)") || !strings.Contains(out, "01-canary-10 fail: success-rate") {
		t.Errorf("-status after the rollback: exit %d", code)
	}
	code, out := run(healthy, "-retry", "-chart", promoted)
	// The chart of the retried rollout starts with it: none of the
	// rolled-back run's 80% shows in v2's figures.
	if !regexp.MustCompile(`v2: success 100–100% \(\d+ points\), p99 2[0-5](\.\d+)?–2[0-5](\.\d+)? ms`).MatchString(out) {
		t.Errorf("the promoted rollout's chart does not say v2 answered all its requests in about 20 ms")
	}
	svgSays(t, promoted, "algorithm-selector/algo-selector: v1 → v2 (succeeded)", "analysis: pass", "canary-10", "canary-50", "promoted", "retired")
	if code != 0 || !strings.Contains(out, "resumed 00-baseline") || !strings.Contains(out, "promoted: v2 takes all traffic; v1 retired") {
		t.Errorf("a healthy v2 after the rollback, retried: exit %d", code)
	}
	for _, step := range []string{"applied 01-canary-10", "analysed 01-canary-10: pass", "applied 02-canary-50", "applied 04-retired"} {
		if !strings.Contains(out, step) {
			t.Errorf("the healthy run does not say %q", step)
		}
	}
	if code, out := run(healthy); code != 0 || !strings.Contains(out, "resumed 04-retired") {
		t.Errorf("a run after the promotion: exit %d", code)
	}
	if has(t, e, ns, "Deployment", "algo-selector-v1") {
		t.Error("v1's Deployment survived the promotion")
	}
	// The same rollout in the ambient dialect: HTTPRoutes, judged on the
	// waypoint's reports.
	clean()
	d = dialects[2]
	if code, out := run(healthy, "-api", "ambient"); code != 0 || !strings.Contains(out, "promoted: v2 takes all traffic; v1 retired") {
		t.Errorf("-api ambient: exit %d", code)
	}
}

// svgSays checks that the SVG image in file parses and has each of texts
// among its text elements.
func svgSays(t *testing.T, file string, texts ...string) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(bytes.NewReader(b))
	found := map[string]bool{}
	var inText bool
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s does not parse: %v", file, err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			inText = tok.Name.Local == "text"
		case xml.CharData:
			if inText {
				found[string(tok)] = true
			}
		case xml.EndElement:
			inText = false
		}
	}
	for _, want := range texts {
		if !found[want] {
			t.Errorf("%s does not say %q", file, want)
		}
	}
}

// TestRolloutStepsAreIstioClean checks every step of a plan with every
// phase (preview, shadow, weights, promotion, retirement) with Istio's
// validation, CRD schemas, analyzers and config generator: the sidecar's
// routes carry each step's preview match, mirror and weights.
func TestRolloutStepsAreIstioClean(t *testing.T) {
	crds, err := IstioCRDs()
	if err != nil {
		t.Fatal(err)
	}
	p, err := rollout.NewPlan(scenarios.AlgorithmSelector(false, ""), "algo-selector", "v2", rollout.Strategy{
		Preview:       &routing.Match{Headers: map[string]routing.StringMatch{"x-canary": routing.Exact("always")}},
		ShadowPercent: 20,
		Steps:         []int32{25, 50},
	})
	if err != nil {
		t.Fatal(err)
	}
	retries := "1 on connect-failure,refused-stream"
	route := func(match string, weights ...any) Route {
		return Route{Match: match, Clusters: split(8501, algo, weights...), Timeout: "10s", Retries: retries}
	}
	shadow := route("prefix=/", "v1", 100)
	shadow.Mirrors = []string{Cluster(8501, "v2", algo) + " 200000/MILLION"}
	wants := map[string][]Route{
		"00-baseline":  {route("prefix=/", "v1", 100)},
		"01-preview":   {route("prefix=/ header[x-canary]=always", "v2", 100), route("prefix=/", "v1", 100)},
		"02-shadow":    {shadow},
		"03-canary-25": {route("prefix=/", "v1", 75, "v2", 25)},
		"04-canary-50": {route("prefix=/", "v1", 50, "v2", 50)},
		"05-promoted":  {route("prefix=/", "v2", 100)},
		"06-retired":   {route("prefix=/", "v2", 100)},
	}
	for _, s := range p.Steps {
		y, err := render.YAML(s.Objects)
		if err != nil {
			t.Fatal(err)
		}
		b, err := ParseBundle(s.Name(), y)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range b.Objects {
			if !IsIstio(o) {
				continue
			}
			warnings, err := ValidateIstio(o)
			if err != nil || len(warnings) > 0 {
				t.Errorf("%s: %s: Istio validation: %v %v", s.Name(), Describe(o), err, warnings)
			}
			for _, e := range crds.Check(o) {
				t.Errorf("%s: %s: CRD schema: %v", s.Name(), Describe(o), e)
			}
		}
		pods, err := Pods(b)
		if err != nil {
			t.Fatal(err)
		}
		msgs, err := Analyze(b.Namespace(), b.YAML, pods, []byte(IngressGatewayFixture))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			t.Errorf("%s: analyzer: %s", s.Name(), m.String())
		}
		sidecar, gw, err := EnvoyRoutes(t, b, b.Namespace(), true)
		if err != nil {
			t.Fatal(err)
		}
		var ws []want
		for i, r := range wants[s.Name()] {
			ws = append(ws, want{"sidecar", "8501", algo, i, r})
		}
		if len(ws) == 0 {
			t.Fatalf("no expectations for %s", s.Name())
		}
		for _, problem := range compareRoutes(sidecar, gw, ws) {
			t.Errorf("%s: %s", s.Name(), problem)
		}
	}
}

// TestLocateOnAPIServer: in each dialect, the step a cluster is at is
// found from the objects the API server holds (with the defaults it sets
// on the Gateway API's routes), at every step of a plan; the App before
// the candidate existed is a start; and a transition with WaitAvailable
// changes no route before the candidate's Deployment reports available.
func TestLocateOnAPIServer(t *testing.T) {
	s := apiServer(t)
	ctx := context.Background()
	c := typedClient(t, s)
	for _, d := range []struct {
		name    string
		api     mesh.API
		ambient bool
	}{{"istio", mesh.IstioAPI, false}, {"gateway", mesh.GatewayAPI, false}, {"ambient", mesh.GatewayAPI, true}} {
		t.Run(d.name, func(t *testing.T) {
			ns := "locate-" + d.name
			app := func(weights map[string]int32) mesh.App {
				a := stageApp(ns, weights)
				a.API = d.api
				if d.ambient {
					a.Namespace.Injection = mesh.InjectAmbient
				}
				return a
			}
			live := func() []render.Object {
				t.Helper()
				objs, err := apply.Managed(ctx, c, ns)
				if err != nil {
					t.Fatal(err)
				}
				return objs
			}
			// v1 alone, running (its Deployment available, as the
			// Deployment controller would have said): a start, not an
			// error.
			if _, err := apply.Apply(ctx, c, build(t, app(map[string]int32{"v1": 100})), apply.Options{}); err != nil {
				t.Fatal(err)
			}
			setAvailable(t, s, ns, "fraud-v1")
			p, err := rollout.NewPlan(app(map[string]int32{"v1": 90, "v2": 10}), "fraud", "v2", rollout.Strategy{Steps: []int32{10, 50}})
			if err != nil {
				t.Fatal(err)
			}
			if i, found, err := p.Locate(live()); err != nil || found || i != 0 {
				t.Fatalf("v1 alone: located %d, %v (%v), want a start", i, found, err)
			}
			// The baseline, with the candidate's Deployment waited for: no
			// route changes while it is not available.
			before := live()
			done := make(chan error, 1)
			go func() {
				_, err := apply.Transition(ctx, c, before, p.Steps[0].Objects, apply.TransitionOptions{WaitAvailable: true, WaitTimeout: time.Minute})
				done <- err
			}()
			routeChanged := func() bool {
				for _, o := range live() {
					if !order.IsRoute(o.GetObjectKind().GroupVersionKind().GroupKind()) {
						continue
					}
					if y, err := render.MarshalYAML(o); err != nil || strings.Contains(string(y), "v2") {
						return true
					}
				}
				return false
			}
			waitUntil(t, 30*time.Second, "fraud-v2's Deployment created", func() bool { return deploymentExists(ctx, s, ns, "fraud-v2") })
			time.Sleep(500 * time.Millisecond)
			if routeChanged() {
				t.Fatal("a route names v2 before its Deployment is available")
			}
			setAvailable(t, s, ns, "fraud-v2")
			if err := <-done; err != nil {
				t.Fatalf("the transition to the baseline: %v", err)
			}
			// Every step, as the API server holds it.
			for k, step := range p.Steps {
				if _, err := apply.Transition(ctx, c, live(), step.Objects, apply.TransitionOptions{}); err != nil {
					t.Fatalf("moving to %s: %v", step.Name(), err)
				}
				if i, found, err := p.Locate(live()); err != nil || !found || i != k {
					t.Errorf("at %s: located %d, %v (%v)", step.Name(), i, found, err)
				}
			}
		})
	}
}

var deploymentGVR = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}

// deploymentExists reports whether the API server holds the Deployment.
func deploymentExists(ctx context.Context, s *APIServer, ns, name string) bool {
	_, err := s.Dynamic.Resource(deploymentGVR).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
	return err == nil
}

// setAvailable sets a Deployment's status as the Deployment controller
// does once its pods are ready (the suite runs no controllers).
func setAvailable(t *testing.T, s *APIServer, ns, name string) {
	t.Helper()
	ctx := context.Background()
	u, err := s.Dynamic.Resource(deploymentGVR).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
	if err == nil {
		err = markAvailable(ctx, s, u)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// markAvailable writes u's status as the Deployment controller does once
// its pods are ready, through the status subresource.
func markAvailable(ctx context.Context, s *APIServer, u *unstructured.Unstructured) error {
	_ = unstructured.SetNestedSlice(u.Object, []any{map[string]any{"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"}}, "status", "conditions")
	_ = unstructured.SetNestedField(u.Object, u.GetGeneration(), "status", "observedGeneration")
	_, err := s.Dynamic.Resource(deploymentGVR).Namespace(u.GetNamespace()).UpdateStatus(ctx, u, metav1.UpdateOptions{})
	return err
}
