package rendertest_test

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/mlmesh/mlmesh/render/rendertest"
)

// update is what a downstream golden-file test commonly defines. Were
// rendertest to register a flag of this name itself, this test binary would
// panic before any test ran ("flag redefined: update").
var update = flag.Bool("update", false, "write golden files")

// TestBesideTheCallersUpdateFlag: rendertest follows the test package's
// own -update flag, and the environment variable, read at each call.
func TestBesideTheCallersUpdateFlag(t *testing.T) {
	t.Setenv(rendertest.UpdateEnv, "")
	path := filepath.Join(t.TempDir(), "testdata", "x.golden.yaml")
	want := []byte("kind: Service\n")

	if rendertest.Updating() {
		t.Fatal("Updating with -update unset")
	}
	if err := flag.Set("update", "true"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { *update = false })
	if !rendertest.Updating() {
		t.Fatal("not Updating with the caller's -update set")
	}
	rendertest.GoldenBytes(t, want, path)
	if got, err := os.ReadFile(path); err != nil || string(got) != string(want) {
		t.Fatalf("with -update, the golden file holds %q (%v), want %q", got, err, want)
	}

	*update = false
	t.Setenv(rendertest.UpdateEnv, "1")
	if !rendertest.Updating() {
		t.Fatalf("not Updating with %s=1", rendertest.UpdateEnv)
	}
	changed := []byte("kind: Deployment\n")
	rendertest.GoldenBytes(t, changed, path)
	if got, _ := os.ReadFile(path); string(got) != string(changed) {
		t.Fatalf("with %s=1, the golden file holds %q, want %q", rendertest.UpdateEnv, got, changed)
	}

	t.Setenv(rendertest.UpdateEnv, "0")
	if rendertest.Updating() {
		t.Fatalf("Updating with %s=0 and -update unset", rendertest.UpdateEnv)
	}
	// Comparing, a CRLF checkout of the golden file still matches.
	if err := os.WriteFile(path, []byte("kind: Deployment\r\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rendertest.GoldenBytes(t, changed, path)
}

// TestGoldenFailsOnDifference: a difference fails the test with a diff,
// and the golden file is left as it was.
func TestGoldenFailsOnDifference(t *testing.T) {
	t.Setenv(rendertest.UpdateEnv, "")
	path := filepath.Join(t.TempDir(), "x.golden.yaml")
	if err := os.WriteFile(path, []byte("a: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rec := &recorder{TB: t}
	rendertest.GoldenBytes(rec, []byte("a: 2\n"), path)
	if !rec.failed {
		t.Fatal("a differing golden file did not fail the test")
	}
	if got, _ := os.ReadFile(path); string(got) != "a: 1\n" {
		t.Fatalf("the golden file was changed to %q", got)
	}
}

// recorder records a failure instead of failing.
type recorder struct {
	testing.TB
	failed bool
}

func (r *recorder) Errorf(string, ...any) { r.failed = true }
func (r *recorder) Fatalf(string, ...any) { r.failed = true }
func (r *recorder) Helper()               {}
