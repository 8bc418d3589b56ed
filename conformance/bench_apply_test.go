package conformance

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/restmapper"

	"github.com/mlmesh/mlmesh/apply"
	"github.com/mlmesh/mlmesh/apply/dynamicapply"
	"github.com/mlmesh/mlmesh/mesh"
	"github.com/mlmesh/mlmesh/render"
	"github.com/mlmesh/mlmesh/routing"
)

// TestApplyCost measures, side by side on one API server, kubectl apply
// --server-side and apply.Apply on the same 1,000-model App (5,001
// objects): the first apply, the same objects again, and one model's
// weights changed (Apply, and Transition from the previous state). Each
// mlmesh step gets a new Client, as a new process would (a CI job):
// discovery, the schemas and the Lists are in its time. Times are wall
// time on a shared machine; the requests, as the API server counts them
// (apiserver_request_total), hold anywhere. It is a benchmark program,
// not a test of speed: it runs only with MLMESH_APPLY_BENCH=1 (about two
// minutes) and asserts correctness only.
func TestApplyCost(t *testing.T) {
	if os.Getenv("MLMESH_APPLY_BENCH") == "" {
		t.Skip("set MLMESH_APPLY_BENCH=1 to measure apply cost against kubectl")
	}
	n := envInt("MLMESH_APPLY_MODELS", 1000)
	s := apiServer(t)
	ctx := context.Background()
	kc, err := s.Kubeconfig()
	if err != nil {
		t.Fatal(err)
	}
	kubectl := func(step, file string) {
		t.Helper()
		before := serverRequests(t, s)
		start := time.Now()
		cmd := exec.Command(filepath.Join(ToolsDir(), "kubectl"), "apply", "--server-side", "--field-manager=kubectl-bench", "-f", file)
		cmd.Env = append(os.Environ(), "KUBECONFIG="+kc)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("kubectl %s: %v\n%.2000s", step, err, out)
		}
		t.Logf("kubectl apply --server-side, %s: %v; requests: %s", step, time.Since(start).Round(10*time.Millisecond), serverRequests(t, s).since(before))
	}
	mlmesh := func(step string, run func() (apply.Result, error)) {
		t.Helper()
		before := serverRequests(t, s)
		start := time.Now()
		res, err := run()
		took := time.Since(start)
		if err != nil {
			t.Fatalf("mlmesh %s: %v", step, err)
		}
		t.Logf("mlmesh apply.Apply, %s: %v, %d objects, %d sent; requests: %s",
			step, took.Round(10*time.Millisecond), len(res.Objects), len(res.Sent()), serverRequests(t, s).since(before))
	}
	fresh := func() *dynamicapply.Client { return typedClient(t, s) }
	plain := func() *dynamicapply.Client {
		dc, err := discovery.NewDiscoveryClientForConfig(s.Config)
		if err != nil {
			t.Fatal(err)
		}
		mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
		return dynamicapply.New(s.Dynamic, mapper).WithSchemas(dc.OpenAPIV3())
	}
	weights := func(app *mesh.App, v1 int32) {
		app.Models[7].Traffic.Rules = []routing.Rule{{Split: routing.SplitOf(map[string]int32{"v1": v1, "v2": 100 - v1})}}
	}

	// kubectl, in its own namespace, from the same rendered objects.
	kapp := manyModels("bench-kubectl", n)
	kfile := filepath.Join(t.TempDir(), "app.yaml")
	write := func(app mesh.App) {
		stream, err := render.YAML(build(t, app))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(kfile, stream, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(kapp)
	kubectl("first apply", kfile)
	kubectl("again, nothing changed", kfile)
	weights(&kapp, 50)
	write(kapp)
	kubectl("one model's weights changed", kfile)

	// mlmesh, in its own namespace, through dynamicapply.NewForConfig.
	app := manyModels("bench-mlmesh", n)
	objs := build(t, app)
	mlmesh("first apply", func() (apply.Result, error) { return apply.Apply(ctx, fresh(), objs, apply.Options{}) })
	mlmesh("again, nothing changed", func() (apply.Result, error) {
		a := fresh()
		// MLMESH_APPLY_PROFILE=FILE writes a CPU profile of this step.
		defer cpuProfile(t, "")()
		return apply.Apply(ctx, a, objs, apply.Options{})
	})
	weights(&app, 50)
	changed := build(t, app)
	mlmesh("one model's weights changed (Apply)", func() (apply.Result, error) {
		return apply.Apply(ctx, fresh(), changed, apply.Options{})
	})
	weights(&app, 20)
	next := build(t, app)
	mlmesh("one model's weights changed (Transition)", func() (apply.Result, error) {
		return apply.Transition(ctx, fresh(), changed, next, apply.TransitionOptions{})
	})
	mlmesh("again, SendAll", func() (apply.Result, error) {
		return apply.Apply(ctx, fresh(), next, apply.Options{SendAll: true})
	})

	// Through dynamicapply.New over a dynamic client: every List is JSON,
	// and every object unstructured.
	mlmesh("again, New (JSON Lists)", func() (apply.Result, error) {
		return apply.Apply(ctx, plain(), next, apply.Options{})
	})
	mlmesh("again, crapply (controller-runtime's client, JSON Lists)", func() (apply.Result, error) {
		return apply.Apply(ctx, crClient(t, s), next, apply.Options{})
	})
	weights(&app, 60)
	third := build(t, app)
	mlmesh("one model's weights changed (Apply, New)", func() (apply.Result, error) {
		return apply.Apply(ctx, plain(), third, apply.Options{})
	})

	// A caller that keeps its Client and an apply.Cache (a controller, a
	// rollout): the first call compares and fills the Cache, the next
	// ones compare only what changed since. What is left is the Lists: the
	// floor of any client that reads before it sends.
	kept, cache := fresh(), &apply.Cache{}
	mlmesh("again, filling a Cache", func() (apply.Result, error) {
		return apply.Apply(ctx, kept, third, apply.Options{Cache: cache})
	})
	mlmesh("again, Client and Cache kept", func() (apply.Result, error) {
		return apply.Apply(ctx, kept, third, apply.Options{Cache: cache})
	})
	weights(&app, 70)
	fourth := build(t, app)
	mlmesh("one model's weights changed (Apply, Client and Cache kept)", func() (apply.Result, error) {
		return apply.Apply(ctx, kept, fourth, apply.Options{Cache: cache})
	})

	// A cache file, as a CI job keeps one: a new Client each time, the
	// verdicts read before and saved after (inside the time).
	file := filepath.Join(t.TempDir(), "apply-cache.json")
	withFile := func(objs []render.Object) func() (apply.Result, error) {
		return func() (apply.Result, error) {
			cache, err := apply.LoadCache(file)
			if err != nil {
				return apply.Result{}, err
			}
			res, err := apply.Apply(ctx, fresh(), objs, apply.Options{Cache: cache})
			if err == nil {
				err = cache.Save(file)
			}
			return res, err
		}
	}
	mlmesh("again, a new Client, filling the cache file", withFile(fourth))
	mlmesh("again, a new Client and the cache file", func() (apply.Result, error) {
		defer cpuProfile(t, ".cache-file")()
		return withFile(fourth)()
	})
	weights(&app, 80)
	mlmesh("one model's weights changed (a new Client and the cache file)", withFile(build(t, app)))

	newProcesses(t, s, n)

	// What Workers buys on the first apply, on a smaller App per setting.
	for _, w := range []int{1, 2, 4, 8, 16} {
		objs := build(t, manyModels(fmt.Sprintf("bench-workers-%d", w), 200))
		mlmesh(fmt.Sprintf("first apply of 200 models, Workers %d", w), func() (apply.Result, error) {
			return apply.Apply(ctx, fresh(), objs, apply.Options{Workers: w})
		})
	}
}

// requestCounts are the requests the API server has served, by verb, as
// its apiserver_request_total counts them: every client's, discovery and
// schemas included.
type requestCounts map[string]float64

// serverRequests reads the API server's request counters.
func serverRequests(t *testing.T, s *APIServer) requestCounts {
	t.Helper()
	dc, err := discovery.NewDiscoveryClientForConfig(s.Config)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := dc.RESTClient().Get().AbsPath("/metrics").DoRaw(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := requestCounts{}
	for _, line := range strings.Split(string(raw), "\n") {
		if !strings.HasPrefix(line, "apiserver_request_total{") {
			continue
		}
		labels, value, ok := strings.Cut(strings.TrimPrefix(line, "apiserver_request_total{"), "} ")
		if !ok {
			continue
		}
		_, verb, _ := strings.Cut(labels, `verb="`)
		verb, _, _ = strings.Cut(verb, `"`)
		v, err := strconv.ParseFloat(value, 64)
		if err == nil {
			out[verb] += v
		}
	}
	return out
}

// since returns what was served after before, minus the read of the
// counters themselves, as "5001 APPLY, 5 LIST, 9 GET".
func (c requestCounts) since(before requestCounts) string {
	verbs := make([]string, 0, len(c))
	for v := range c {
		verbs = append(verbs, v)
	}
	sort.Slice(verbs, func(i, j int) bool {
		return c[verbs[i]]-before[verbs[i]] > c[verbs[j]]-before[verbs[j]] || (c[verbs[i]]-before[verbs[i]] == c[verbs[j]]-before[verbs[j]] && verbs[i] < verbs[j])
	})
	var parts []string
	total := 0.0
	for _, v := range verbs {
		d := c[v] - before[v]
		if v == "GET" {
			d-- // the /metrics read that took before
		}
		if d > 0 {
			parts = append(parts, fmt.Sprintf("%.0f %s", d, v))
			total += d
		}
	}
	return fmt.Sprintf("%.0f (%s)", total, strings.Join(parts, ", "))
}

// cpuProfile starts a CPU profile into $MLMESH_APPLY_PROFILE+suffix, when
// that is set, and returns what stops it.
func cpuProfile(t *testing.T, suffix string) (stop func()) {
	file := os.Getenv("MLMESH_APPLY_PROFILE")
	if file == "" {
		return func() {}
	}
	f, err := os.Create(file + suffix)
	if err != nil {
		t.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		t.Fatal(err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}

// newProcesses measures what a CI job pays: a new process each time, from
// a kubeconfig. The anchor fleet of n models (5n+2 objects): kubectl apply
// --server-side of examples/fleet's YAML, against examples/fleetapply —
// first, again, again with its cache file (once filling it, then using it),
// and one model's weights changed with the file. Wall time of each process
// and the requests the API server counted.
func newProcesses(t *testing.T, s *APIServer, n int) {
	t.Helper()
	kc, err := s.Kubeconfig()
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	for _, prog := range []string{"fleet", "fleetapply"} {
		cmd := exec.Command("go", "build", "-o", filepath.Join(bin, prog), "./examples/"+prog)
		cmd.Dir = ".."
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("building %s: %v\n%s", prog, err, out)
		}
	}
	proc := func(who, step string, name string, args ...string) {
		t.Helper()
		before := serverRequests(t, s)
		start := time.Now()
		cmd := exec.Command(name, args...)
		cmd.Env = append(os.Environ(), "KUBECONFIG="+kc)
		out, err := cmd.CombinedOutput()
		took := time.Since(start)
		if err != nil {
			t.Fatalf("%s, %s: %v\n%.2000s", who, step, err, out)
		}
		t.Logf("new process, %s, %s: %v; requests: %s; %s", who, step, took.Round(10*time.Millisecond), serverRequests(t, s).since(before), strings.TrimSpace(lastLine(string(out))))
	}
	models := strconv.Itoa(n)
	yaml := filepath.Join(t.TempDir(), "fleet.yaml")
	f, err := os.Create(yaml)
	if err != nil {
		t.Fatal(err)
	}
	printed := exec.Command(filepath.Join(bin, "fleet"), "-models", models, "-namespace", "bench-proc-kubectl")
	printed.Stdout = f
	if err := printed.Run(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	kubectl := filepath.Join(ToolsDir(), "kubectl")
	proc("kubectl", "create the namespace", kubectl, "create", "namespace", "bench-proc-kubectl")
	proc("kubectl apply --server-side", "first apply", kubectl, "apply", "--server-side", "--field-manager=kubectl-bench", "-f", yaml)
	proc("kubectl apply --server-side", "again, nothing changed", kubectl, "apply", "--server-side", "--field-manager=kubectl-bench", "-f", yaml)

	fa, cache := filepath.Join(bin, "fleetapply"), filepath.Join(t.TempDir(), "fleet-cache.json")
	ns := []string{"-models", models, "-namespace", "bench-proc-mlmesh"}
	proc("fleetapply", "first apply", fa, ns...)
	proc("fleetapply", "again, nothing changed", fa, ns...)
	proc("fleetapply", "again, filling the cache file", fa, append(ns, "-cache", cache)...)
	for i := range 3 {
		proc("fleetapply", fmt.Sprintf("again, with the cache file (%d)", i+1), fa, append(ns, "-cache", cache)...)
	}
	proc("fleetapply", "one model's weights changed, with the cache file", fa, append(ns, "-cache", cache, "-v2", "50")...)
}

// lastLine is the last non-empty line of s.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
