package mesh

import (
	"fmt"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/mlmesh/mlmesh/internal/fielderr"
)

// Re-rooting: the families derive leaf specs (a routing.Spec per model)
// from the App and report each of their problems at the App field it comes
// from.

// indexed is path[k], or path when k < 0.
func indexed(path *field.Path, k int) *field.Path {
	if k < 0 {
		return path
	}
	return path.Index(k)
}

// rerootRoute re-roots the problems of a routing.Spec that mesh derived
// for the App element at. to maps the first step of a problem's path
// ("rules[2]": step "rules", k 2; "policy": k -1) to the App field it comes
// from, which then takes the rest of the path. nil means the field derives
// from what other checks cover (the model, the namespace, a gateway);
// should all of those have passed (derivedOK), the problem is reported at
// the element itself all the same: a derived spec that is invalid must
// never pass silently.
func rerootRoute(err error, at *field.Path, derivedOK bool, to func(step string, k int) *field.Path) field.ErrorList {
	e, ok := err.(*fielderr.Error)
	if !ok {
		return field.ErrorList{field.InternalError(at, err)}
	}
	var out field.ErrorList
	for _, fe := range e.Errors {
		step, k, rest := splitStep(fe.Field)
		c := *fe
		root := to(step, k)
		if root == skipError {
			continue
		}
		if root != nil {
			c.Field = root.String() + rest
		} else if derivedOK {
			c.Field = at.String()
			c.Detail = fmt.Sprintf("(%s of the routing.Spec derived from it) %s", fe.Field, c.Detail)
		} else {
			continue
		}
		out = append(out, &c)
	}
	return out
}

// skipError, returned by rerootRoute's to, drops a problem that another
// family reports already.
var skipError = field.NewPath("<reported elsewhere>")

// splitStep splits a field path into its first step, that step's index
// (-1 if none) and the rest: "rules[2].split" is "rules", 2, ".split".
func splitStep(path string) (step string, k int, rest string) {
	end := strings.IndexAny(path, ".[")
	if end < 0 {
		return path, -1, ""
	}
	step, rest = path[:end], path[end:]
	if rest[0] != '[' {
		return step, -1, rest
	}
	close := strings.IndexByte(rest, ']')
	n, err := strconv.Atoi(rest[1:max(close, 1)])
	if close < 0 || err != nil {
		return step, -1, rest // a key, not an index
	}
	return step, n, rest[close+1:]
}
