package render

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/mlmesh/mlmesh/internal/canon"
)

// fileName returns the file WriteDir writes an object to: its position in
// apply order (1 to count), kind, namespace and name, so that "kubectl apply
// -f DIR", which reads files in lexical order, applies them
// make-before-break. Positions are zero-padded to the width of count, and
// to at least three digits: "001-…" for a set of up to 999 objects,
// "0001-…" for one of up to 9,999.
func fileName(position, count int, o Object) string {
	width := max(3, len(strconv.Itoa(count)))
	kind := strings.ToLower(o.GetObjectKind().GroupVersionKind().Kind)
	if o.GetNamespace() == "" {
		return fmt.Sprintf("%0*d-%s-%s.yaml", width, position, kind, o.GetName())
	}
	return fmt.Sprintf("%0*d-%s-%s-%s.yaml", width, position, kind, o.GetNamespace(), o.GetName())
}

// WriteDir writes each object as a canonical YAML document to its own file
// in dir (created if missing), named by fileName, and returns the paths in
// apply order. Every object is encoded before any file is written, and each
// file is written whole (to a temporary name, then renamed); if writing
// fails, the files this call wrote are removed. Files already in dir are
// left alone, so a caller that re-renders into the same directory should
// start from an empty one.
func WriteDir(dir string, objs []Object) ([]string, error) {
	sorted, err := Sorted(objs)
	if err != nil {
		return nil, err
	}
	docs := make([][]byte, len(sorted))
	for i, o := range sorted {
		w := canon.NewWriter(1024)
		if err := w.Document(o); err != nil {
			return nil, err
		}
		docs[i] = w.Bytes()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("render: %w", err)
	}
	var written []string
	undo := func() {
		for _, p := range written {
			os.Remove(p)
		}
	}
	for i, o := range sorted {
		path := filepath.Join(dir, fileName(i+1, len(sorted), o))
		tmp, err := os.CreateTemp(dir, ".render-*")
		if err != nil {
			undo()
			return nil, fmt.Errorf("render: %w", err)
		}
		_, werr := tmp.Write(docs[i])
		cerr := tmp.Close()
		if werr == nil {
			werr = cerr
		}
		if werr == nil {
			werr = os.Chmod(tmp.Name(), 0o644)
		}
		if werr == nil {
			werr = os.Rename(tmp.Name(), path)
		}
		if werr != nil {
			os.Remove(tmp.Name())
			undo()
			return nil, fmt.Errorf("render: writing %s: %w", path, werr)
		}
		written = append(written, path)
	}
	return written, nil
}
