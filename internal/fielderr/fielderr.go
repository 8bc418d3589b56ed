// Package fielderr builds the validation error shared by mlmesh's spec
// packages (mlmesh.ValidationError): every problem at once, re-rooted at
// the field the caller wrote.
package fielderr

import (
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/mlmesh/mlmesh"
)

// Error is mlmesh.ValidationError, which every spec package re-exports.
type Error = mlmesh.ValidationError

// Duplicate is field.Duplicate naming where the value first appeared:
// `models[1].name: duplicate value "ranker": already models[0]`.
func Duplicate(p *field.Path, value any, first string) *field.Error {
	fe := field.Duplicate(p, value)
	fe.Detail = "already " + first
	return fe
}

// New returns nil when errs is empty, else an *Error for spec.
func New(spec string, errs field.ErrorList) error {
	if len(errs) == 0 {
		return nil
	}
	return &Error{Spec: spec, Errors: errs}
}

// Reroot prefixes every path in err (an *Error from a nested spec) with
// path, so a nested spec's problems read from the caller's root. Errors of
// other types are returned as a single Invalid at path.
func Reroot(path *field.Path, err error) field.ErrorList {
	if err == nil {
		return nil
	}
	e, ok := err.(*Error)
	if !ok {
		return field.ErrorList{field.Invalid(path, nil, err.Error())}
	}
	out := make(field.ErrorList, 0, len(e.Errors))
	for _, fe := range e.Errors {
		c := *fe
		if c.Field == "" || c.Field == "<nil>" {
			c.Field = path.String()
		} else if strings.HasPrefix(c.Field, "[") {
			c.Field = path.String() + c.Field
		} else {
			c.Field = path.String() + "." + c.Field
		}
		out = append(out, &c)
	}
	return out
}
