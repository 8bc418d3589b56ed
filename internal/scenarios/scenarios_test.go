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
			rendertest.GoldenBytes(t, out.Bytes(), filepath.Join("..", "..", "examples", name, "testdata", file))
		}
	}
}

// gatewayRefused are the scenarios that Gateway API cannot express, and
// why: their error names the field.
var gatewayRefused = map[string]string{
	"algorithm-selector": "models[0].traffic.rules[0].retries: Forbidden: retries are experimental in Gateway API",
}

// TestDialectGolden compares every example's output in the Gateway API
// dialect, and in an ambient namespace (the example programs' -api gateway
// and -api ambient), with its golden files <name>.gateway.golden.yaml and
// <name>.ambient.golden.yaml, or checks that the dialect refuses it at the
// field it cannot express: ambient mode refuses what the Gateway API
// dialect does.
func TestDialectGolden(t *testing.T) {
	for _, dialect := range []string{"gateway", "ambient"} {
		for name := range ByName {
			app, err := Dialect(name, false, dialect)
			if err != nil {
				t.Fatal(err)
			}
			objs, err := mesh.Build(app)
			if why, refused := gatewayRefused[name]; refused {
				if err == nil || !strings.Contains(err.Error(), why) {
					t.Errorf("%s -api %s: %v, want a refusal with %q", name, dialect, err, why)
				}
				continue
			}
			if err != nil {
				t.Fatalf("%s -api %s: %v", name, dialect, err)
			}
			var out bytes.Buffer
			if err := render.WriteYAML(&out, objs); err != nil {
				t.Fatal(err)
			}
			rendertest.GoldenBytes(t, out.Bytes(), filepath.Join("..", "..", "examples", name, "testdata", name+"."+dialect+".golden.yaml"))
		}
	}
}

// TestPoolsGolden compares LLMPools (llm -pools) with its golden file,
// which the conformance suite checks with the others.
func TestPoolsGolden(t *testing.T) {
	objs, err := mesh.Build(LLMPools())
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := render.WriteYAML(&out, objs); err != nil {
		t.Fatal(err)
	}
	rendertest.GoldenBytes(t, out.Bytes(), filepath.Join("..", "..", "examples", "llm", "testdata", "llm.pools.golden.yaml"))
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

// TestEndpointGolden compares LLMEndpoint (examples/llm-endpoint), and the
// same in an ambient namespace, with their golden files, which the
// conformance suite checks with the others.
func TestEndpointGolden(t *testing.T) {
	for name, app := range map[string]mesh.App{"llm-endpoint": LLMEndpoint(), "llm-endpoint.ambient": Ambient(LLMEndpoint())} {
		objs, err := mesh.Build(app)
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		if err := render.WriteYAML(&out, objs); err != nil {
			t.Fatal(err)
		}
		rendertest.GoldenBytes(t, out.Bytes(), filepath.Join("..", "..", "examples", "llm-endpoint", "testdata", name+".golden.yaml"))
	}
}
