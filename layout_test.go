package mlmesh

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLayout holds the library to the shape its readers rely on: no
// function of the builder, apply and rollout packages over 80 lines, no file of mesh (one file
// per object family) over 400.
func TestLayout(t *testing.T) {
	const maxFunc, maxMeshFile = 80, 400
	for _, dir := range []string{"mesh", "routing", "serving", "ingress", "egress", "security", "rollout", "rollout/promgate", "apply", "names", "multicluster"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		if len(files) == 0 {
			t.Fatalf("no Go files in %s", dir)
		}
		for _, name := range files {
			if strings.HasSuffix(name, "_test.go") {
				continue
			}
			src, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			fset := token.NewFileSet()
			f, err := parser.ParseFile(fset, name, src, 0)
			if err != nil {
				t.Fatal(err)
			}
			if n := fset.Position(f.End()).Line; dir == "mesh" && n > maxMeshFile {
				t.Errorf("%s: %d lines, want at most %d: one object family a file", name, n, maxMeshFile)
			}
			for _, d := range f.Decls {
				fn, ok := d.(*ast.FuncDecl)
				if !ok || fn.Body == nil {
					continue
				}
				start, end := fset.Position(fn.Pos()).Line, fset.Position(fn.End()).Line
				if n := end - start + 1; n > maxFunc {
					t.Errorf("%s:%d: %s is %d lines, want at most %d", name, start, fn.Name.Name, n, maxFunc)
				}
			}
		}
	}
}
