package main

import (
	"io"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/mlmesh/mlmesh/mesh"
	"github.com/mlmesh/mlmesh/multicluster"
	"github.com/mlmesh/mlmesh/observe"
	"github.com/mlmesh/mlmesh/render"
	"github.com/mlmesh/mlmesh/slo"
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

// BenchmarkObserve: a fleet's observability beside rendering it, each
// model with an objective: Render streams the App's YAML; Objects builds
// each model's dashboard and the rules; ObjectsYAML renders those too.
// Issue 24's budget: Objects within 2× of Render.
func BenchmarkObserve(b *testing.B) {
	app := Fleet(1000)
	o := slo.Objective{Availability: 99.9, Latency: &slo.Latency{Quantile: 0.99, Bound: 500 * time.Millisecond}}
	for i := range app.Models {
		app.Models[i].SLO = &o
	}
	b.Run("Render", func(b *testing.B) {
		perModel(b, 1000, func() {
			if err := mesh.Render(io.Discard, app); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("Objects", func(b *testing.B) {
		perModel(b, 1000, func() {
			if _, err := observe.Objects(app, observe.Options{}); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("ObjectsYAML", func(b *testing.B) {
		perModel(b, 1000, func() {
			objs, err := observe.Objects(app, observe.Options{})
			if err == nil {
				err = render.WriteYAML(io.Discard, objs)
			}
			if err != nil {
				b.Fatal(err)
			}
		})
	})
}

// BenchmarkMultiCluster: the 1,000-model fleet placed on 1 and on 10
// clusters of a mesh (each model's version in every cluster), built per
// cluster with multicluster.Build: issue 26's budget is 10 clusters within
// 10.5× one cluster's time and memory (compare ns/model and B/model).
func BenchmarkMultiCluster(b *testing.B) {
	app := Fleet(1000)
	for _, n := range []int{1, 10} {
		f := multicluster.Fleet{}
		for c := range n {
			f.Clusters = append(f.Clusters, multicluster.Cluster{Name: "c" + strconv.Itoa(c), Region: "r" + strconv.Itoa(c%3)})
		}
		for _, m := range app.Models {
			for _, v := range m.Versions {
				p := multicluster.Placement{Model: m.Name, Version: v.Name, Replicas: map[string]int32{}}
				for _, c := range f.Clusters {
					p.Replicas[c.Name] = 0
				}
				f.Placement = append(f.Placement, p)
			}
		}
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			perModel(b, 1000, func() {
				if _, err := multicluster.Build(app, f); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}
