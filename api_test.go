package mlmesh

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/printer"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/mlmesh/mlmesh/internal/textdiff"
)

// apiFile lists the exported API of every public package, as TestAPI
// prints it: a change to the API changes this file, and so shows in
// review.
const apiFile = "testdata/api.txt"

// TestAPI holds the exported API to testdata/api.txt. After an intended
// change, refresh it with: MLMESH_UPDATE_GOLDEN=1 go test -run TestAPI .
func TestAPI(t *testing.T) {
	got, err := exportedAPI(".")
	if err != nil {
		t.Fatal(err)
	}
	if update, _ := strconv.ParseBool(os.Getenv("MLMESH_UPDATE_GOLDEN")); update {
		if err := os.WriteFile(apiFile, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(apiFile)
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != got {
		t.Errorf("the exported API differs from %s (-want +got); if the change is intended, run\n\tMLMESH_UPDATE_GOLDEN=1 go test -run TestAPI .\nand list it in the release notes:\n%s", apiFile, textdiff.Unified(string(want), got))
	}
}

// TestAPIListsExports: the listing holds what it must (exported names,
// methods of exported types, exported fields) and not what it must not
// (unexported names, fields and methods, function bodies).
func TestAPIListsExports(t *testing.T) {
	dir := t.TempDir()
	src := `package p

type T struct {
	A int
	b int
}

func (T) M()  {}
func (T) m()  {}
func F() int  { return 1 }
func f()      {}

const C, c = 1, 2
`
	if err := os.WriteFile(filepath.Join(dir, "p.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := exportedAPI(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"type T struct {\n\tA int\n}", "func (T) M()", "func F() int", "const C = 1"} {
		if !strings.Contains(got, want) {
			t.Errorf("the listing lacks %q:\n%s", want, got)
		}
	}
	for _, not := range []string{"b int", "m()", "f()", "return", "c = 2"} {
		if strings.Contains(got, not) {
			t.Errorf("the listing holds %q:\n%s", not, got)
		}
	}
}

// exportedAPI lists the exported declarations of every package under root
// but internal, test and example code and the conformance suite: per
// package (by directory), sorted, without comments or bodies.
func exportedAPI(root string) (string, error) {
	byDir := map[string][]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case "internal", "examples", "conformance", "testdata", ".git":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		decls, err := fileAPI(path)
		byDir[filepath.Dir(path)] = append(byDir[filepath.Dir(path)], decls...)
		return err
	})
	if err != nil {
		return "", err
	}
	dirs := make([]string, 0, len(byDir))
	for d := range byDir {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	var b strings.Builder
	for _, d := range dirs {
		decls := byDir[d]
		if len(decls) == 0 {
			continue
		}
		sort.Strings(decls)
		b.WriteString("package " + filepath.ToSlash(filepath.Join("github.com/mlmesh/mlmesh", d)) + "\n\n")
		for _, decl := range decls {
			b.WriteString(decl + "\n")
		}
		b.WriteString("\n")
	}
	return b.String(), nil
}

// fileAPI lists a file's exported declarations.
func fileAPI(path string) ([]string, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	var out []string
	print := func(node any) {
		var buf bytes.Buffer
		cfg := printer.Config{Mode: printer.UseSpaces | printer.TabIndent, Tabwidth: 8}
		if err := cfg.Fprint(&buf, fset, node); err == nil {
			out = append(out, buf.String())
		}
	}
	for _, decl := range f.Decls {
		switch d := decl.(type) {
		case *ast.FuncDecl:
			if !d.Name.IsExported() || d.Recv != nil && !exportedReceiver(d.Recv) {
				continue
			}
			print(&ast.FuncDecl{Recv: d.Recv, Name: d.Name, Type: d.Type})
		case *ast.GenDecl:
			for _, spec := range d.Specs {
				switch s := spec.(type) {
				case *ast.TypeSpec:
					if s.Name.IsExported() {
						print(&ast.GenDecl{Tok: token.TYPE, Specs: []ast.Spec{exportedType(s)}})
					}
				case *ast.ValueSpec:
					for i, name := range s.Names {
						if !name.IsExported() {
							continue
						}
						v := &ast.ValueSpec{Names: []*ast.Ident{name}, Type: s.Type}
						if i < len(s.Values) {
							v.Values = []ast.Expr{s.Values[i]}
						}
						print(&ast.GenDecl{Tok: d.Tok, Specs: []ast.Spec{v}})
					}
				}
			}
		}
	}
	return out, nil
}

// exportedReceiver reports whether a method's receiver type is exported.
func exportedReceiver(recv *ast.FieldList) bool {
	t := recv.List[0].Type
	if star, ok := t.(*ast.StarExpr); ok {
		t = star.X
	}
	if idx, ok := t.(*ast.IndexExpr); ok {
		t = idx.X
	}
	id, ok := t.(*ast.Ident)
	return ok && id.IsExported()
}

// exportedType is a type without its unexported fields and methods, and
// without comments.
func exportedType(s *ast.TypeSpec) *ast.TypeSpec {
	c := *s
	c.Doc, c.Comment = nil, nil
	switch t := s.Type.(type) {
	case *ast.StructType:
		c.Type = &ast.StructType{Fields: exportedFields(t.Fields)}
	case *ast.InterfaceType:
		c.Type = &ast.InterfaceType{Methods: exportedFields(t.Methods)}
	}
	return &c
}

func exportedFields(fl *ast.FieldList) *ast.FieldList {
	out := &ast.FieldList{}
	for _, f := range fl.List {
		var names []*ast.Ident
		for _, n := range f.Names {
			if n.IsExported() {
				names = append(names, n)
			}
		}
		embedded := len(f.Names) == 0
		if embedded {
			t := f.Type
			if star, ok := t.(*ast.StarExpr); ok {
				t = star.X
			}
			switch e := t.(type) {
			case *ast.Ident:
				embedded = e.IsExported()
			case *ast.SelectorExpr:
				embedded = e.Sel.IsExported()
			}
		}
		if len(names) == 0 && !embedded {
			continue
		}
		out.List = append(out.List, &ast.Field{Names: names, Type: f.Type, Tag: f.Tag})
	}
	return out
}
