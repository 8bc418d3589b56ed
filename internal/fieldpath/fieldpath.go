// Package fieldpath builds field paths for validation errors without
// allocating: a Path is a small value, copied as it is extended, that
// becomes a *field.Path only when an error is reported at it. Validation
// runs on every spec of a fleet and nearly always passes, so the paths of
// the fields it checks are almost never needed.
package fieldpath

import (
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// maxSteps is how many steps a Path holds before it folds them into a
// *field.Path (which allocates, but is never needed by mlmesh's specs).
const maxSteps = 8

type stepKind uint8

const (
	child stepKind = iota
	index
	key
)

type step struct {
	name  string // a child's name or a key
	index int32
	kind  stepKind
}

// Path is a field path. The zero Path is the root of a spec: its children
// have no prefix.
type Path struct {
	base  *field.Path // steps folded, or the root given to At
	n     uint8
	steps [maxSteps]step
}

// New returns the path of a top-level field.
func New(name string) Path {
	var p Path
	return p.Child(name)
}

// At returns the path p, to extend without allocating.
func At(p *field.Path) Path { return Path{base: p} }

func (p Path) push(s step) Path {
	if int(p.n) == maxSteps {
		p = Path{base: p.Field()}
	}
	p.steps[p.n] = s
	p.n++
	return p
}

// Child returns the path of field name of p.
func (p Path) Child(name string) Path { return p.push(step{name: name, kind: child}) }

// Index returns the path of element i of p.
func (p Path) Index(i int) Path { return p.push(step{index: int32(i), kind: index}) }

// Key returns the path of the map entry k of p.
func (p Path) Key(k string) Path { return p.push(step{name: k, kind: key}) }

// Field returns p as a *field.Path; nil for the zero Path.
func (p Path) Field() *field.Path {
	fp := p.base
	for _, s := range p.steps[:p.n] {
		switch s.kind {
		case index:
			fp = fp.Index(int(s.index))
		case key:
			fp = fp.Key(s.name)
		default:
			if fp == nil {
				fp = field.NewPath(s.name)
			} else {
				fp = fp.Child(s.name)
			}
		}
	}
	return fp
}

// String returns the path as field.Path writes it: a.b[0][key].
func (p Path) String() string { return p.Field().String() }

// Name returns the name of p's last step when it is a field name, else "".
func (p Path) Name() string {
	if p.n == 0 {
		return ""
	}
	if s := p.steps[p.n-1]; s.kind == child {
		return s.name
	}
	return ""
}
