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
// *field.Path (which allocates). Six covers mlmesh's specs, such as
// rules[0].match[1].headers[x-user]; a Path is copied on every step, so it
// is kept small.
const maxSteps = 6

type stepKind uint8

const (
	child stepKind = iota
	index
	key
)

// Path is a field path. The zero Path is the root of a spec: its children
// have no prefix.
type Path struct {
	base  *field.Path // steps folded, or the root given to At
	names [maxSteps]string
	index [maxSteps]int32
	kinds [maxSteps]stepKind
	n     uint8
}

// New returns the path of a top-level field.
func New(name string) Path {
	var p Path
	return p.Child(name)
}

// At returns the path p, to extend without allocating.
func At(p *field.Path) Path { return Path{base: p} }

// push adds a step to p, in place (its callers' receivers are copies).
func (p *Path) push(kind stepKind, name string, i int) {
	if p.n >= maxSteps {
		*p = Path{base: p.Field()}
	}
	n := p.n % maxSteps // < maxSteps already: no bounds checks
	p.names[n], p.index[n], p.kinds[n] = name, int32(i), kind
	p.n = n + 1
}

// Child returns the path of field name of p.
func (p Path) Child(name string) Path { p.push(child, name, 0); return p }

// Index returns the path of element i of p.
func (p Path) Index(i int) Path { p.push(index, "", i); return p }

// Key returns the path of the map entry k of p.
func (p Path) Key(k string) Path { p.push(key, k, 0); return p }

// Field returns p as a *field.Path; nil for the zero Path.
func (p Path) Field() *field.Path {
	fp := p.base
	for i := range int(p.n) {
		switch p.kinds[i] {
		case index:
			fp = fp.Index(int(p.index[i]))
		case key:
			fp = fp.Key(p.names[i])
		default:
			if fp == nil {
				fp = field.NewPath(p.names[i])
			} else {
				fp = fp.Child(p.names[i])
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
	if p.kinds[p.n-1] == child {
		return p.names[p.n-1]
	}
	return ""
}
