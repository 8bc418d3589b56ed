// Package fielderr is the validation error shared by mlmesh's spec packages.
// Each package re-exports it as its ValidationError, so callers can match it
// with errors.As without importing an internal package.
package fielderr

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Error reports every problem found in a spec at once, each with its field
// path and what was expected. Unwrap exposes each problem as a *field.Error.
type Error struct {
	// Spec names what was being validated ("routing.Spec", "mesh.App").
	Spec string
	// Errors holds the problems in the order they were found.
	Errors field.ErrorList
}

// Error implements error. It names every problem on one line, separated by "; ".
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "invalid %s: ", e.Spec)
	for i, fe := range e.Errors {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(Message(fe))
	}
	return b.String()
}

// Unwrap returns each problem as a *field.Error.
func (e *Error) Unwrap() []error {
	out := make([]error, len(e.Errors))
	for i, fe := range e.Errors {
		out[i] = fe
	}
	return out
}

// Message formats one problem as "path: detail", naming the bad value where
// the detail does not already.
func Message(fe *field.Error) string {
	switch fe.Type {
	case field.ErrorTypeRequired:
		if fe.Detail == "" {
			return fe.Field + ": required"
		}
		return fe.Field + ": required: " + fe.Detail
	case field.ErrorTypeDuplicate:
		return fmt.Sprintf("%s: duplicate value %q", fe.Field, fmt.Sprint(fe.BadValue)) + detail(fe)
	case field.ErrorTypeNotFound:
		return fmt.Sprintf("%s: %q not found", fe.Field, fmt.Sprint(fe.BadValue)) + detail(fe)
	case field.ErrorTypeNotSupported:
		return fmt.Sprintf("%s: unsupported value %q", fe.Field, fmt.Sprint(fe.BadValue)) + detail(fe)
	case field.ErrorTypeTooLong:
		return fe.Field + ": too long" + detail(fe)
	case field.ErrorTypeTooMany:
		return fmt.Sprintf("%s: too many: %v", fe.Field, fe.BadValue) + detail(fe)
	case field.ErrorTypeInvalid:
		if _, omit := fe.BadValue.(field.OmitValueType); fe.BadValue == nil || omit {
			return fe.Field + ": " + fe.Detail
		}
		return fmt.Sprintf("%s: invalid value %q: %s", fe.Field, fmt.Sprint(fe.BadValue), fe.Detail)
	}
	return fe.Error()
}

// detail is ": " and the error's detail, or nothing when it has none (no
// message ends in a bare colon).
func detail(fe *field.Error) string {
	if fe.Detail == "" {
		return ""
	}
	return ": " + fe.Detail
}

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
