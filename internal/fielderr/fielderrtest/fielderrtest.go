// Package fielderrtest checks validation errors in the spec packages'
// tests: every problem is a *fielderr.Error (each package's
// ValidationError), and its message names what the case expects.
package fielderrtest

import (
	"errors"
	"strings"
	"testing"

	"github.com/mlmesh/mlmesh/internal/fielderr"
)

// Want checks err against a table case's expectations: nil when want is
// empty; otherwise a *fielderr.Error whose message contains every fragment
// of want (a field path, what was expected).
func Want(t *testing.T, err error, want []string) {
	t.Helper()
	if len(want) == 0 {
		if err != nil {
			t.Fatalf("valid spec rejected: %v", err)
		}
		return
	}
	var ve *fielderr.Error
	if !errors.As(err, &ve) {
		t.Fatalf("want a ValidationError, got %v", err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error does not mention %q:\n%v", w, err)
		}
	}
}
