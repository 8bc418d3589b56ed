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
// To write the golden files afresh, run "go test -update" where the test
// package defines the flag, as golden-file tests commonly do:
//
//	var update = flag.Bool("update", false, "write golden files")
//
// or set MLMESH_UPDATE_GOLDEN=1 ("MLMESH_UPDATE_GOLDEN=1 go test ./..."),
// which needs no flag. rendertest defines no flag itself: a library that
// registered "update" would make every test package that defines its own
// panic at start ("flag redefined: update").
package rendertest

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/mlmesh/mlmesh/internal/textdiff"
	"github.com/mlmesh/mlmesh/render"
)

// UpdateEnv is the environment variable that, set to a true value ("1",
// "true"), makes Golden and GoldenBytes write golden files.
const UpdateEnv = "MLMESH_UPDATE_GOLDEN"

// Updating reports whether golden files are to be written instead of
// compared: when the test binary has a flag named "update" (the test
// package's own) set to true, or when UpdateEnv is true. It reads both at
// each call.
func Updating() bool {
	if b, err := strconv.ParseBool(os.Getenv(UpdateEnv)); err == nil && b {
		return true
	}
	f := flag.Lookup("update")
	if f == nil {
		return false
	}
	b, _ := strconv.ParseBool(f.Value.String())
	return b
}

// Golden renders objs as a canonical YAML stream and compares it with the
// golden file at path, failing t with a unified diff when they differ. With
// -update (see Updating) it writes the file instead.
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
		t.Fatalf("golden file %s: %v (run go test with -update or %s=1 to create it)", path, err, UpdateEnv)
	}
	want = bytes.ReplaceAll(want, []byte("\r\n"), []byte("\n"))
	if !bytes.Equal(want, got) {
		t.Errorf("output differs from %s (-want +got); run go test with -update or %s=1 if the change is intended:\n%s", path, UpdateEnv, Diff(string(want), string(got)))
	}
}

// Diff returns a unified diff of two texts, line by line, with three lines
// of context.
func Diff(want, got string) string { return textdiff.Unified(want, got) }
