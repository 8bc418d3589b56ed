package render

import (
	"io"

	"github.com/mlmesh/mlmesh/internal/canon"
)

// Encoder writes canonical YAML documents one at a time, for streams too
// large to hold in memory. It does not reorder: give it objects in the order
// of Sort (mesh.Render does) and the bytes equal those of YAML.
type Encoder struct {
	w   io.Writer
	enc *canon.Writer
	n   int
}

// NewEncoder returns an Encoder writing to w.
func NewEncoder(w io.Writer) *Encoder {
	return &Encoder{w: w, enc: canon.NewWriter(8192)}
}

// Encode writes o as the next document, preceded by "---" after the first.
// apiVersion and kind must be set or known to SetKinds. An object that fails
// to encode writes nothing.
func (e *Encoder) Encode(o Object) error {
	if err := SetKinds([]Object{o}); err != nil {
		return err
	}
	e.enc.Reset()
	if e.n > 0 {
		e.enc.Separator()
	}
	if err := e.enc.Document(o); err != nil {
		return err
	}
	e.n++
	_, err := e.w.Write(e.enc.Bytes())
	return err
}
