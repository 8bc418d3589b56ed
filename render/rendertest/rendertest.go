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
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
func Diff(want, got string) string {
	a := strings.SplitAfter(want, "\n")
	b := strings.SplitAfter(got, "\n")
	// Trim the common prefix and suffix, then diff the middle by LCS.
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		suf++
	}
	am, bm := a[pre:len(a)-suf], b[pre:len(b)-suf]
	type op struct {
		kind byte
		line string
	}
	var ops []op
	if len(am)*len(bm) > 16_000_000 {
		for _, l := range am {
			ops = append(ops, op{'-', l})
		}
		for _, l := range bm {
			ops = append(ops, op{'+', l})
		}
	} else {
		lcs := make([][]int32, len(am)+1)
		for i := range lcs {
			lcs[i] = make([]int32, len(bm)+1)
		}
		for i := len(am) - 1; i >= 0; i-- {
			for j := len(bm) - 1; j >= 0; j-- {
				if am[i] == bm[j] {
					lcs[i][j] = lcs[i+1][j+1] + 1
				} else {
					lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
				}
			}
		}
		i, j := 0, 0
		for i < len(am) || j < len(bm) {
			switch {
			case i < len(am) && j < len(bm) && am[i] == bm[j]:
				ops = append(ops, op{' ', am[i]})
				i++
				j++
			case j < len(bm) && (i == len(am) || lcs[i][j+1] >= lcs[i+1][j]):
				ops = append(ops, op{'+', bm[j]})
				j++
			default:
				ops = append(ops, op{'-', am[i]})
				i++
			}
		}
	}
	var out strings.Builder
	ctxStart := max(0, pre-3)
	fmt.Fprintf(&out, "@@ -%d +%d @@\n", ctxStart+1, ctxStart+1)
	for _, l := range a[ctxStart:pre] {
		out.WriteString(" " + ensureNL(l))
	}
	for _, o := range ops {
		out.WriteString(string(o.kind) + ensureNL(o.line))
	}
	for k, l := range a[len(a)-suf:] {
		if k == 3 {
			break
		}
		out.WriteString(" " + ensureNL(l))
	}
	return out.String()
}

func ensureNL(s string) string {
	if strings.HasSuffix(s, "\n") {
		return s
	}
	return s + "\n"
}
