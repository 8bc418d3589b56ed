package main

import (
	"io"
	"runtime"
	"strconv"
	"testing"

	"github.com/mlmesh/mlmesh/mesh"
	"github.com/mlmesh/mlmesh/render"
)

// perModel reports a benchmark's cost per model, for n models an
// iteration: ns, bytes and allocations.
func perModel(b *testing.B, n int, f func()) {
	b.Helper()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f()
	}
	b.StopTimer()
	runtime.ReadMemStats(&after)
	models := float64(b.N * n)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/models, "ns/model")
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/models, "B/model")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/models, "allocs/model")
}

// BenchmarkBuild: validating, cross-checking and building the fleet's
// objects (5 a model), without rendering.
func BenchmarkBuild(b *testing.B) {
	app := Fleet(1000)
	perModel(b, 1000, func() {
		if _, err := mesh.Build(app); err != nil {
			b.Fatal(err)
		}
	})
}

// BenchmarkRenderObject: rendering one object of the fleet as canonical
// YAML (the per-object figure is ns/op).
func BenchmarkRenderObject(b *testing.B) {
	objs, err := mesh.Build(Fleet(1000))
	if err != nil {
		b.Fatal(err)
	}
	enc := render.NewEncoder(io.Discard)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := enc.Encode(objs[i%len(objs)]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFleet: the fleet program end to end (build, validate, stream),
// per model, at three sizes: the per-model cost should not grow with N.
func BenchmarkFleet(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			perModel(b, n, func() {
				if err := run(io.Discard, []string{"-models", strconv.Itoa(n)}); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}
