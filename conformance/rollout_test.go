package conformance

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/mlmesh/mlmesh/apply"
	"github.com/mlmesh/mlmesh/internal/meshcheck"
	"github.com/mlmesh/mlmesh/internal/order"
	"github.com/mlmesh/mlmesh/internal/scenarios"
	"github.com/mlmesh/mlmesh/mesh"
	"github.com/mlmesh/mlmesh/render"
	"github.com/mlmesh/mlmesh/rollout"
	"github.com/mlmesh/mlmesh/rollout/promgate"
	"github.com/mlmesh/mlmesh/routing"
)

// The rollout tests run a real Prometheus scraping an exporter of Istio's
// standard metrics whose traffic follows the live VirtualService: every
// 200 ms a follower reads the model's routes from the API server and gives
// each version its share of 100 requests a second, with the error ratio and
// latency the test chose for it.
const (
	rolloutInterval = 3 * time.Second // between a step and its analysis
	rolloutWindow   = 3 * time.Second // the range of the queries, three scrapes: no longer than the interval, so that an analysis sees its own step only
	totalRPS        = 100.0
)

var vsGVK = schema.GroupVersionKind{Group: "networking.istio.io", Version: "v1", Kind: "VirtualService"}

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
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for !prom.Up(ctx) {
		if ctx.Err() != nil {
			t.Fatal("Prometheus never scraped the exporter")
		}
		time.Sleep(200 * time.Millisecond)
	}
	return &rolloutEnv{s: s, exp: exp, prom: prom}
}

// follow gives the model's versions in ns their share of the traffic, as
// the live VirtualService routes it, until ctx is done. v1 and v2 are how
// each version answers.
func (e *rolloutEnv) follow(ctx context.Context, ns, model string, v1, v2 Traffic) *sync.WaitGroup {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		a := dynamicClient(e.s)
		for ctx.Err() == nil {
			w1, w2, mirror := 100.0, 0.0, 0.0
			if vs, err := a.Get(ctx, vsGVK, ns, model); err == nil {
				w1, w2, mirror = shares(vs)
			}
			t1, t2 := v1, v2
			t1.RPS = totalRPS * w1 / 100 * v1.RPS
			t2.RPS = totalRPS * (w2 + w1*mirror/100) / 100 * v2.RPS
			e.exp.Set(ns, model, "v1", t1)
			e.exp.Set(ns, model, "v2", t2)
			select {
			case <-ctx.Done():
			case <-time.After(200 * time.Millisecond):
			}
		}
	}()
	return &wg
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

// rolloutApp is algorithm-selector in its own namespace.
func rolloutPlan(t *testing.T, ns string) *rollout.Plan {
	t.Helper()
	app := scenarios.AlgorithmSelector(false, "")
	app.Namespace.Name = ns
	p, err := rollout.NewPlan(app, "algo-selector", "v2", rollout.Strategy{Steps: []int32{10, 30, 50}})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (e *rolloutEnv) gate(t *testing.T) *promgate.Gate {
	t.Helper()
	api, err := promgate.NewAPI(e.prom.URL)
	if err != nil {
		t.Fatal(err)
	}
	g, err := promgate.New(api, promgate.Options{Window: rolloutWindow, MinRequests: 5},
		promgate.SuccessRate(99), promgate.Latency(0.99, 500*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// driver runs p with the suite's settings, checking after every move that
// the live VirtualService carries the step's weights and that no route
// names a missing host, subset or pods; events go to the log.
func (e *rolloutEnv) driver(t *testing.T, p *rollout.Plan, events *[]string) *rollout.Driver {
	return &rollout.Driver{
		Client: dynamicClient(e.s), Gate: e.gate(t), Interval: rolloutInterval, Failures: 2, NoDataLimit: 3,
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

var healthy = Traffic{RPS: 1, Latency: 20 * time.Millisecond}

// TestRollout runs canaries against the real Prometheus and API server.
func TestRollout(t *testing.T) {
	e := startRolloutEnv(t)
	t.Run("cases", func(t *testing.T) {
		for _, tc := range []struct {
			name    string
			v2      Traffic
			want    rollout.RunOutcome
			verdict string
		}{
			{"healthy", healthy, rollout.Succeeded, "success-rate 100% (pass"},
			{"errors", Traffic{RPS: 1, ErrorRatio: 0.05, Latency: 20 * time.Millisecond}, rollout.RolledBack, "success-rate 95% (fail: 95% < 99%"},
			{"slow", Traffic{RPS: 1, Latency: 700 * time.Millisecond}, rollout.RolledBack, "latency-p99 995 ms (fail: 995 ms > 500 ms"},
			{"no-traffic", Traffic{RPS: 0, Latency: 20 * time.Millisecond}, rollout.RolledBack, "requests 0 (no data: 0 requests to algo-selector-v2"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				ns := "rollout-" + tc.name
				p := rolloutPlan(t, ns)
				ctx, stop := context.WithCancel(context.Background())
				defer e.follow(ctx, ns, "algo-selector", healthy, tc.v2).Wait()
				defer stop()
				var events []string
				d := e.driver(t, p, &events)
				if tc.name == "no-traffic" {
					d.Failures = 1
				}
				rep, err := d.Run(context.Background(), p)
				if err != nil {
					t.Fatal(err)
				}
				all := strings.Join(events, "\n")
				if rep.Outcome != tc.want || !strings.Contains(all, tc.verdict) {
					t.Errorf("outcome %s, want %s with %q; events:\n%s", rep.Outcome, tc.want, tc.verdict, all)
				}
				switch tc.want {
				case rollout.Succeeded:
					if got := e.liveStep(t, p); got != "05-retired" || has(t, e, ns, "Deployment", "algo-selector-v1") {
						t.Errorf("after promotion: at %s, v1 Deployment kept: %v", got, has(t, e, ns, "Deployment", "algo-selector-v1"))
					}
				case rollout.RolledBack:
					if got := e.liveStep(t, p); got != "00-baseline" || !has(t, e, ns, "Deployment", "algo-selector-v2") {
						t.Errorf("after the rollback: at %s, v2 Deployment kept: %v", got, has(t, e, ns, "Deployment", "algo-selector-v2"))
					}
				}
				if tc.name == "no-traffic" && !strings.Contains(all, "analysed 01-canary-10: no data") {
					t.Errorf("no traffic did not hold the step first:\n%s", all)
				}
			})
		}
		t.Run("cancelled", func(t *testing.T) {
			t.Parallel()
			ns := "rollout-cancelled"
			p := rolloutPlan(t, ns)
			fctx, stop := context.WithCancel(context.Background())
			defer e.follow(fctx, ns, "algo-selector", healthy, healthy).Wait()
			defer stop()
			ctx, cancel := context.WithCancel(context.Background())
			var events []string
			d := e.driver(t, p, &events)
			check := d.Progress
			d.Progress = func(ev rollout.Event) {
				check(ev)
				if ev.Kind == rollout.Applied && ev.Step.Name() == "02-canary-30" {
					cancel()
				}
			}
			_, err := d.Run(ctx, p)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("want context.Canceled, got %v", err)
			}
			if got := e.liveStep(t, p); got != "02-canary-30" {
				t.Fatalf("cancelled at %s", got)
			}
			rep, err := e.driver(t, p, &events).Run(context.Background(), p)
			if err != nil || rep.Outcome != rollout.Succeeded || rep.Resumed == nil || rep.Resumed.Name() != "02-canary-30" {
				t.Errorf("resumed: %v %v from %v", rep.Outcome, err, rep.Resumed)
			}
		})
	})
	// Prometheus stops mid-rollout: a clear error, a consistent cluster;
	// once it is back, a new run resumes.
	t.Run("prometheus-outage", func(t *testing.T) {
		ns := "rollout-outage"
		p := rolloutPlan(t, ns)
		fctx, stop := context.WithCancel(context.Background())
		defer e.follow(fctx, ns, "algo-selector", healthy, healthy).Wait()
		defer stop()
		var events []string
		d := e.driver(t, p, &events)
		check := d.Progress
		d.Progress = func(ev rollout.Event) {
			check(ev)
			if ev.Kind == rollout.Applied && ev.Step.Name() == "01-canary-10" {
				e.prom.Stop()
			}
		}
		rep, err := d.Run(context.Background(), p)
		if err == nil || !strings.Contains(err.Error(), "analysing step 01-canary-10") || !strings.Contains(err.Error(), "connection refused") {
			t.Fatalf("want an analysis error naming the step and the refused connection, got %v", err)
		}
		t.Logf("with Prometheus down: %v", err)
		if rep.Step.Name() != "01-canary-10" || e.liveStep(t, p) != "01-canary-10" {
			t.Errorf("report at %s, cluster at %s", rep.Step.Name(), e.liveStep(t, p))
		}
		if d := meshcheck.Dangling(liveObjects(t, e.s, ns)); len(d) > 0 {
			t.Errorf("inconsistent after the error: %s", strings.Join(d, "; "))
		}
		if err := e.prom.Restart(); err != nil {
			t.Fatal(err)
		}
		rep, err = e.driver(t, p, &events).Run(context.Background(), p)
		if err != nil || rep.Outcome != rollout.Succeeded || rep.Resumed == nil || rep.Resumed.Name() != "01-canary-10" {
			t.Errorf("after the restart: %v %v from %v", rep.Outcome, err, rep.Resumed)
		}
	})
}

// TestProgressiveExample runs examples/progressive as a user would, against
// the suite's API server and Prometheus: a faulty v2 rolls back (exit 3);
// run again as it is, the rollout record refuses it (exit 1) and -status
// says why; with -retry a healthy v2 starts again from the baseline and is
// promoted (exit 0); a last run finds it promoted (exit 0).
func TestProgressiveExample(t *testing.T) {
	e := startRolloutEnv(t)
	ctx := context.Background()
	const ns = "algorithm-selector"
	// Other tests apply the scenario's own state here; start from nothing.
	a := dynamicClient(e.s)
	live, err := apply.Managed(ctx, a, ns)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range live {
		if err := a.Delete(ctx, o.GetObjectKind().GroupVersionKind(), ns, o.GetName(), apply.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Delete(ctx, schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, ns, rollout.RecordName("algo-selector"), apply.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
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
	run := func(v2 Traffic, flags ...string) (int, string) {
		fctx, stop := context.WithCancel(ctx)
		wg := e.follow(fctx, ns, "algo-selector", healthy, v2)
		defer wg.Wait()
		defer stop()
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
	if code, out := run(Traffic{RPS: 1, ErrorRatio: 0.2, Latency: 20 * time.Millisecond}); code != 3 || !strings.Contains(out, "rolled back: v1 takes all traffic") {
		t.Errorf("a faulty v2: exit %d", code)
	}
	// The record says v2 was rolled back: run again as it is, it is
	// refused, and -status says why; -retry canaries it again.
	if code, out := run(healthy); code != 1 || !strings.Contains(out, "was rolled back") {
		t.Errorf("the rolled-back v2 again: exit %d", code)
	}
	if code, out := run(healthy, "-status"); code != 0 || !strings.Contains(out, "rolled back (after 1 failed analysis)") || !strings.Contains(out, "01-canary-10 fail: success-rate") {
		t.Errorf("-status after the rollback: exit %d", code)
	}
	code, out := run(healthy, "-retry")
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
			waitFor(t, func() bool { return deploymentExists(ctx, s, ns, "fraud-v2") })
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
	if err != nil {
		t.Fatal(err)
	}
	_ = unstructured.SetNestedSlice(u.Object, []any{map[string]any{"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"}}, "status", "conditions")
	_ = unstructured.SetNestedField(u.Object, u.GetGeneration(), "status", "observedGeneration")
	if _, err := s.Dynamic.Resource(deploymentGVR).Namespace(ns).UpdateStatus(ctx, u, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// waitFor polls cond until it holds, failing the test after 30 seconds.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting")
		}
	}
}
