package mlmesh

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// ValidationError reports every problem found in a spec at once, each with
// its field path and what was expected. It is the ValidationError of every
// spec package (serving.ValidationError, mesh.ValidationError, …), so
// errors.As with any of them matches an error of any package:
//
//	var ve *mesh.ValidationError
//	if errors.As(err, &ve) {
//		for _, fe := range ve.Errors {
//			fmt.Println(fe.Field, fe.Type) // models[0].traffic.rules[0].split FieldValueInvalid
//		}
//	}
//
// Unwrap returns each problem as the *field.Error of
// k8s.io/apimachinery/pkg/util/validation/field that it is: its Field is
// the path of what the caller wrote, its Type the kind of problem.
type ValidationError struct {
	// Spec names what was being validated ("routing.Spec", "mesh.App").
	Spec string
	// Errors holds the problems in the order they were found.
	Errors field.ErrorList
}

// Error names every problem on one line, separated by "; ".
func (e *ValidationError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "invalid %s: ", e.Spec)
	for i, fe := range e.Errors {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(message(fe))
	}
	return b.String()
}

// Unwrap returns each problem as a *field.Error.
func (e *ValidationError) Unwrap() []error {
	out := make([]error, len(e.Errors))
	for i, fe := range e.Errors {
		out[i] = fe
	}
	return out
}

// message formats one problem as "path: detail", naming the bad value where
// the detail does not already.
func message(fe *field.Error) string {
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
