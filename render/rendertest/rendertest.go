// Package rendertest helps downstream repositories golden-test what they
// build with mlmesh, as net/http/httptest helps test handlers:
//
//	func TestManifests(t *testing.T) {
//		objs, err := mesh.Build(myApp())
//		if err != nil {
//			t.Fatal(err)
//		}
//		rendertest.Golden(t, objs, "testdata/app.golden.yaml")
//	}
//
// Run "go test ./... -update" to write the golden files afresh. The -update
// flag is shared with any other package of the test binary that defines it.
package rendertest

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/mlmesh/mlmesh/internal/textdiff"
	"github.com/mlmesh/mlmesh/render"
)

const updateFlag = "update"

func init() {
	if flag.Lookup(updateFlag) == nil {
		flag.Bool(updateFlag, false, "write golden files instead of comparing with them")
	}
}

// Updating reports whether the test binary runs with -update.
func Updating() bool {
	f := flag.Lookup(updateFlag)
	if f == nil {
		return false
	}
	g, ok := f.Value.(flag.Getter)
	if !ok {
		return f.Value.String() == "true"
	}
	b, _ := g.Get().(bool)
	return b
}

// Golden renders objs as a canonical YAML stream and compares it with the
// golden file at path, failing t with a unified diff when they differ. With
// -update it writes the file instead.
func Golden(t testing.TB, objs []render.Object, path string) {
	t.Helper()
	got, err := render.YAML(objs)
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	GoldenBytes(t, got, path)
}

// GoldenBytes compares got with the golden file at path, or writes it with
// -update. Line endings in the golden file are normalised to "\n" first, so
// a checkout with CRLF endings still compares equal.
func GoldenBytes(t testing.TB, got []byte, path string) {
	t.Helper()
	if Updating() {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden file %s: %v (run go test with -update to create it)", path, err)
	}
	want = bytes.ReplaceAll(want, []byte("\r\n"), []byte("\n"))
	if !bytes.Equal(want, got) {
		t.Errorf("output differs from %s (-want +got); run go test with -update if the change is intended:\n%s", path, Diff(string(want), string(got)))
	}
}

// Diff returns a unified diff of two texts, line by line, with three lines
// of context.
func Diff(want, got string) string { return textdiff.Unified(want, got) }
