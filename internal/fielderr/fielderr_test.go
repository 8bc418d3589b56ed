package fielderr

import (
	"testing"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// TestMessage: how ValidationError words each kind of problem.
func TestMessage(t *testing.T) {
	p := field.NewPath("runtime", "readinessPort")
	for _, tc := range []struct {
		fe   *field.Error
		want string
	}{
		{field.NotFound(p, "admin"), `runtime.readinessPort: "admin" not found`},
		{func() *field.Error { fe := field.NotFound(p, "admin"); fe.Detail = "want http"; return fe }(), `runtime.readinessPort: "admin" not found: want http`},
		{Duplicate(field.NewPath("models").Index(1).Child("name"), "ranker", "models[0]"), `models[1].name: duplicate value "ranker": already models[0]`},
		{field.Duplicate(p, "x"), `runtime.readinessPort: duplicate value "x"`},
		{field.NotSupported[string](p, "y", nil), `runtime.readinessPort: unsupported value "y"`},
		{field.TooLong(p, "", 10), `runtime.readinessPort: too long: may not be more than 10 bytes`},
		{field.TooMany(p, 3, 2), `runtime.readinessPort: too many: 3: must have at most 2 items`},
	} {
		if got := (&Error{Spec: "x", Errors: field.ErrorList{tc.fe}}).Error(); got != "invalid x: "+tc.want {
			t.Errorf("got  %s\nwant %s", got, tc.want)
		}
	}
}
