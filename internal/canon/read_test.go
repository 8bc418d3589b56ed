package canon

import (
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/yaml"
)

// reference reads a document the general way: YAML to JSON, then JSON as
// unstructured reads it (numbers as int64 or float64), and an object
// through unstructured itself.
func reference(doc []byte) (map[string]any, error) {
	j, err := yaml.YAMLToJSON(doc)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := utiljson.Unmarshal(j, &m); err != nil {
		return nil, err
	}
	if _, ok := m["kind"]; ok {
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(j); err != nil {
			return nil, err
		}
		if !reflect.DeepEqual(u.Object, m) {
			return nil, fmt.Errorf("unstructured reads %#v, JSON %#v", u.Object, m)
		}
	}
	return m, nil
}

// checkRead holds Read to the reference on one document: when it reads a
// document, it reads what the reference reads.
func checkRead(t *testing.T, name string, doc []byte) bool {
	t.Helper()
	got, ok := Read(doc)
	want, err := reference(doc)
	if !ok {
		return false
	}
	if err != nil {
		t.Fatalf("%s: Read took a document the reference refuses (%v):\n%s", name, err, doc)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s: Read differs from the reference:\n got  %#v\n want %#v\n%s", name, got, want, doc)
	}
	return true
}

// TestReadMatchesReference: every type render's scheme knows, filled at
// random and encoded, reads back through Read as through the reference, and
// Read takes nearly all of them (the general path is the exception).
func TestReadMatchesReference(t *testing.T) {
	f := &filler{r: rand.New(rand.NewSource(20261201))}
	var names []string
	byName := map[string]reflect.Type{}
	kinds := map[string]schema.GroupVersionKind{}
	for gvk, typ := range Scheme.AllKnownTypes() {
		names = append(names, gvk.String())
		byName[gvk.String()], kinds[gvk.String()] = typ, gvk
	}
	sort.Strings(names)
	read, refused := 0, 0
	for _, name := range names {
		for round := 0; round < 10; round++ {
			v := reflect.New(byName[name])
			f.fill(v.Elem(), 0)
			o, ok := v.Interface().(Object)
			if !ok {
				continue
			}
			// As render sends them: with their own kind (SetKinds).
			o.GetObjectKind().SetGroupVersionKind(kinds[name])
			var e encoder
			if err := e.object(o); err != nil {
				continue
			}
			if checkRead(t, name, e.buf) {
				read++
			} else {
				refused++
			}
		}
	}
	t.Logf("Read took %d random documents, left %d to the general path", read, refused)
	if read < 10*refused || read < 300 {
		t.Errorf("Read took %d documents and refused %d", read, refused)
	}
}

// TestReadGoldenFiles: every document of the repository's golden files.
func TestReadGoldenFiles(t *testing.T) {
	files, _ := filepath.Glob("../../examples/*/testdata/*.yaml")
	more, _ := filepath.Glob("../../render/testdata/*.yaml")
	files = append(files, more...)
	if len(files) < 5 {
		t.Fatalf("found %d golden files", len(files))
	}
	n := 0
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range strings.Split(string(b), "---\n") {
			if !checkRead(t, file, []byte(doc)) {
				t.Errorf("%s document %d: Read refused a canonical document", file, i)
			}
			n++
		}
	}
	t.Logf("%d documents", n)
}

// TestReadScalars: every string of the scalar cases, as a value, a key and
// a list item, reads back as the reference reads it.
func TestReadScalars(t *testing.T) {
	for _, s := range append(scalarCases, "-x", "-1x", "1.2.3", "1e", "00", "-0", "1.", "9223372036854775808") {
		enc := string(appendString(nil, s))
		for _, doc := range []string{"k: " + enc + "\n", enc + ": v\n", "k:\n- " + enc + "\n- {}\n- null\n"} {
			if !checkRead(t, s, []byte(doc)) {
				t.Errorf("%q: Read refused %q", s, doc)
			}
		}
	}
	for _, doc := range []string{"k: 1\n", "k: -1.5\n", "k: 1e+21\n", "k: 9223372036854775808\n", "k: true\n", "a:\n  b:\n  - - x\n"} {
		checkRead(t, doc, []byte(doc))
	}
	for _, doc := range []string{"k: .nan\n", "k: |\n  x\n", "- a\n", "k:  x\n", "k: {a: 1}\n", "k: 1\nk: 2\n", " k: 1\n"} {
		if _, ok := Read([]byte(doc)); ok {
			t.Errorf("Read took %q, which the encoder never writes", doc)
		}
	}
}
