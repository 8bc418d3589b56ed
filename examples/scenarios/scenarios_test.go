package scenarios

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlmesh/mlmesh/mesh"

	"github.com/mlmesh/mlmesh/render"
	"github.com/mlmesh/mlmesh/render/rendertest"
)

// TestGolden compares every example's output with its golden file in
// examples/<name>/testdata, which the conformance suite checks against
// Istio and a real API server.
func TestGolden(t *testing.T) {
	for name := range ByName {
		cases := map[bool]string{false: name + ".golden.yaml"}
		if name == "algorithm-selector" {
			cases[true] = name + "-promoted.golden.yaml"
		}
		for promote, file := range cases {
			var out bytes.Buffer
			if err := Write(&out, name, promote); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			rendertest.GoldenBytes(t, out.Bytes(), filepath.Join("..", name, "testdata", file))
		}
	}
}

// gatewayRefused are the scenarios that Gateway API cannot express, and
// why: their error names the field.
var gatewayRefused = map[string]string{
	"algorithm-selector": "models[0].traffic.rules[0].retries: Forbidden: retries are experimental in Gateway API",
}

// TestGatewayGolden compares every example's output in the Gateway API
// dialect with its golden file <name>.gateway.golden.yaml, or checks that
// the dialect refuses it at the field it cannot express.
func TestGatewayGolden(t *testing.T) {
	for name := range ByName {
		var out bytes.Buffer
		err := WriteAPI(&out, name, false, mesh.GatewayAPI)
		if why, refused := gatewayRefused[name]; refused {
			if err == nil || !strings.Contains(err.Error(), why) {
				t.Errorf("%s: %v, want a refusal with %q", name, err, why)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		rendertest.GoldenBytes(t, out.Bytes(), filepath.Join("..", name, "testdata", name+".gateway.golden.yaml"))
	}
}

// TestAmbientGolden compares every example's output in an ambient
// namespace (the -api ambient of the example programs) with its golden
// file <name>.ambient.golden.yaml; what the Gateway API dialect refuses,
// ambient mode refuses too.
func TestAmbientGolden(t *testing.T) {
	for name := range ByName {
		app, err := Dialect(name, false, "ambient")
		if err != nil {
			t.Fatal(err)
		}
		objs, err := mesh.Build(app)
		if why, refused := gatewayRefused[name]; refused {
			if err == nil || !strings.Contains(err.Error(), why) {
				t.Errorf("%s: %v, want a refusal with %q", name, err, why)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var out bytes.Buffer
		if err := render.WriteYAML(&out, objs); err != nil {
			t.Fatal(err)
		}
		rendertest.GoldenBytes(t, out.Bytes(), filepath.Join("..", name, "testdata", name+".ambient.golden.yaml"))
	}
}

// TestDeterministic renders every scenario twice: the same bytes.
func TestDeterministic(t *testing.T) {
	for name := range ByName {
		var a, b bytes.Buffer
		if err := Write(&a, name, false); err != nil {
			t.Fatal(err)
		}
		if err := Write(&b, name, false); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a.Bytes(), b.Bytes()) {
			t.Errorf("%s: two renders differ", name)
		}
	}
}
