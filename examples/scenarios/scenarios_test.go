package scenarios

import (
	"bytes"
	"path/filepath"
	"testing"

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
