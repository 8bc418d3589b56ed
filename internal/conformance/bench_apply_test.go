package conformance

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"testing"
	"time"

	"github.com/mlmesh/mlmesh/render"
	"github.com/mlmesh/mlmesh/render/dynamicapply"
	"github.com/mlmesh/mlmesh/routing"
)

// TestApplyCost measures, side by side on one API server, kubectl apply
// --server-side and render.Apply on the same 1,000-model App (5,001
// objects): the first apply, the same objects again, and one model's
// weights changed (Apply, and Transition from the previous state). Times
// are wall time on a shared machine; request counts hold anywhere. It is a
// benchmark program, not a test of speed: it runs only with
// MLMESH_APPLY_BENCH=1 (about five minutes) and asserts correctness only.
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
		start := time.Now()
		cmd := exec.Command(filepath.Join(ToolsDir(), "kubectl"), "apply", "--server-side", "--field-manager=kubectl-bench", "-f", file)
		cmd.Env = append(os.Environ(), "KUBECONFIG="+kc)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("kubectl %s: %v\n%.2000s", step, err, out)
		}
		t.Logf("kubectl apply --server-side, %s: %v", step, time.Since(start).Round(10*time.Millisecond))
	}
	mlmesh := func(step string, r *requests, run func() (render.Result, error)) {
		t.Helper()
		before := r.counts()
		start := time.Now()
		res, err := run()
		if err != nil {
			t.Fatalf("mlmesh %s: %v", step, err)
		}
		sent := 0
		for _, o := range res.Objects {
			if !o.Skipped {
				sent++
			}
		}
		t.Logf("mlmesh render.Apply, %s: %v, %d objects, %d sent; requests: %d applies, %d lists, %d gets",
			step, time.Since(start).Round(10*time.Millisecond), len(res.Objects), sent,
			r.counts().applies-before.applies, r.counts().lists-before.lists, r.counts().gets-before.gets)
	}

	// kubectl, in its own namespace, from the same rendered objects.
	kapp := manyModels("bench-kubectl", n)
	kfile := filepath.Join(t.TempDir(), "app.yaml")
	stream, err := render.YAML(build(t, kapp))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(kfile, stream, 0o644); err != nil {
		t.Fatal(err)
	}
	kubectl("first apply", kfile)
	kubectl("again, nothing changed", kfile)
	kapp.Models[7].Traffic.Rules = []routing.Rule{{Split: routing.SplitOf(map[string]int32{"v1": 50, "v2": 50})}}
	stream, _ = render.YAML(build(t, kapp))
	_ = os.WriteFile(kfile, stream, 0o644)
	kubectl("one model's weights changed", kfile)

	// mlmesh, in its own namespace.
	app := manyModels("bench-mlmesh", n)
	objs := build(t, app)
	r := &requests{Applier: dynamicApplier(s)}
	mlmesh("first apply", r, func() (render.Result, error) { return render.Apply(ctx, r, objs, render.ApplyOptions{}) })
	mlmesh("again, nothing changed", r, func() (render.Result, error) {
		// MLMESH_APPLY_PROFILE=FILE writes a CPU profile of this step.
		defer cpuProfile(t, "")()
		return render.Apply(ctx, r, objs, render.ApplyOptions{})
	})
	// The floor of any client that checks before it sends: reading the
	// live objects alone.
	start := time.Now()
	live, err := render.Managed(ctx, r, "bench-mlmesh")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("reading the live objects alone (render.Managed, one List per kind, one after another): %v, %d objects",
		time.Since(start).Round(10*time.Millisecond), len(live))
	mlmesh("again, SendAll", r, func() (render.Result, error) {
		return render.Apply(ctx, r, objs, render.ApplyOptions{SendAll: true})
	})
	app.Models[7].Traffic.Rules = []routing.Rule{{Split: routing.SplitOf(map[string]int32{"v1": 50, "v2": 50})}}
	changed := build(t, app)
	mlmesh("one model's weights changed (Apply)", r, func() (render.Result, error) {
		return render.Apply(ctx, r, changed, render.ApplyOptions{})
	})
	app.Models[7].Traffic.Rules = []routing.Rule{{Split: routing.SplitOf(map[string]int32{"v1": 20, "v2": 80})}}
	next := build(t, app)
	mlmesh("one model's weights changed (Transition)", r, func() (render.Result, error) {
		return render.Transition(ctx, r, changed, next, render.TransitionOptions{})
	})

	// A caller that keeps a render.Cache (a controller, a rollout): the
	// first call compares and fills it, the next ones compare only what
	// changed since.
	cache := &render.Cache{}
	mlmesh("again, filling a Cache", r, func() (render.Result, error) {
		return render.Apply(ctx, r, next, render.ApplyOptions{Cache: cache})
	})
	mlmesh("again, with the Cache kept", r, func() (render.Result, error) {
		return render.Apply(ctx, r, next, render.ApplyOptions{Cache: cache})
	})
	app.Models[7].Traffic.Rules = []routing.Rule{{Split: routing.SplitOf(map[string]int32{"v1": 60, "v2": 40})}}
	third := build(t, app)
	mlmesh("one model's weights changed (Apply, with the Cache kept)", r, func() (render.Result, error) {
		return render.Apply(ctx, r, third, render.ApplyOptions{Cache: cache})
	})

	// The same through dynamicapply.NewForConfig: Kubernetes' own kinds
	// listed over protobuf.
	typed, err := dynamicapply.NewForConfig(s.Config)
	if err != nil {
		t.Fatal(err)
	}
	rt := &requests{Applier: typed}
	mlmesh("again, protobuf Lists", rt, func() (render.Result, error) {
		// and FILE.typed, a CPU profile of this step.
		defer cpuProfile(t, ".typed")()
		return render.Apply(ctx, rt, third, render.ApplyOptions{})
	})
	tcache := &render.Cache{}
	mlmesh("again, protobuf Lists, filling a Cache", rt, func() (render.Result, error) {
		return render.Apply(ctx, rt, third, render.ApplyOptions{Cache: tcache})
	})
	mlmesh("again, protobuf Lists, Cache kept", rt, func() (render.Result, error) {
		return render.Apply(ctx, rt, third, render.ApplyOptions{Cache: tcache})
	})
	app.Models[7].Traffic.Rules = []routing.Rule{{Split: routing.SplitOf(map[string]int32{"v1": 70, "v2": 30})}}
	fourth := build(t, app)
	mlmesh("one model's weights changed (Apply, protobuf Lists, Cache kept)", rt, func() (render.Result, error) {
		return render.Apply(ctx, rt, fourth, render.ApplyOptions{Cache: tcache})
	})

	// What Workers buys on the first apply, on a smaller App per setting.
	for _, w := range []int{1, 2, 4, 8, 16} {
		objs := build(t, manyModels(fmt.Sprintf("bench-workers-%d", w), 200))
		mlmesh(fmt.Sprintf("first apply of 200 models, Workers %d", w), r, func() (render.Result, error) {
			return render.Apply(ctx, r, objs, render.ApplyOptions{Workers: w})
		})
	}
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
