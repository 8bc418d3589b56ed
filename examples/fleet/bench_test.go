package main

import (
	"io"
	"testing"

	"github.com/mlmesh/mlmesh/mesh"
	"github.com/mlmesh/mlmesh/render"
)

// Per model: validating and building the 5 objects of a model.
func BenchmarkBuildPerModel(b *testing.B) {
	app := Fleet(1000)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += 1000 {
		if _, err := mesh.Build(app); err != nil {
			b.Fatal(err)
		}
	}
}

// Per object: rendering one object of the fleet as canonical YAML.
func BenchmarkRenderPerObject(b *testing.B) {
	objs, err := mesh.Build(Fleet(1000))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += len(objs) {
		if err := render.WriteYAML(io.Discard, objs); err != nil {
			b.Fatal(err)
		}
	}
}

// Per model, end to end: build and render, as the fleet program does.
func BenchmarkFleetPerModel(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		b.Run(itoa(n), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i += n {
				if err := run(io.Discard, []string{"-models", itoa(n)}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func itoa(n int) string {
	s := ""
	for ; n > 0; n /= 10 {
		s = string(rune('0'+n%10)) + s
	}
	return s
}
