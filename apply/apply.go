package apply

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/mlmesh/mlmesh/internal/canon"
	"github.com/mlmesh/mlmesh/internal/textdiff"
	"github.com/mlmesh/mlmesh/render"
)

// Options are the options of Apply and Transition. The zero value applies
// for real, with field manager "mlmesh", without forcing, eight objects at
// a time, sending only what differs from the live objects.
type Options struct {
	// FieldManager names the owner of the applied fields; empty means
	// DefaultFieldManager.
	FieldManager string
	// Force takes ownership of fields another field manager owns (a GitOps
	// tool, a controller) instead of failing with a *ConflictError. Use it
	// when mlmesh is meant to own those fields from now on.
	Force bool
	// DryRun asks the server to validate and admit each object without
	// storing it; each configured object's result carries a diff of what
	// would change. A dry run creates no Namespace, so objects
	// in a namespace that does not exist yet fail it.
	DryRun bool
	// Progress, if set, is called with each object's result, in apply
	// order, from the goroutine that called Apply or Transition, as soon as
	// that object and every one before it is done.
	Progress func(ObjectResult)
	// Cache, if set, remembers between calls which live objects were found
	// as wanted, so that what neither side changed since is not compared
	// again (see Cache). Without it every object is compared each time.
	Cache *Cache
	// Workers bounds how many objects of one rank (the same kind, in the
	// make-before-break order) are sent at once; the next rank starts only
	// when every object of this one is done. 0 means DefaultWorkers; 1
	// sends one object at a time. The requests are the same either way.
	Workers int
	// SendAll sends every object. By default, when the Client has the
	// server's schemas, an object whose live state already holds, owned by
	// the field manager, exactly the fields and values wanted is not sent
	// (its result is unchanged, Skipped).
	SendAll bool
}

// patch is what the Client's Apply is asked to do.
func (o Options) patch() PatchOptions {
	return PatchOptions{FieldManager: o.fieldManager(), Force: o.Force, DryRun: o.DryRun}
}

func (o Options) fieldManager() string {
	if o.FieldManager == "" {
		return DefaultFieldManager
	}
	return o.FieldManager
}

// Outcome is what happened to one object.
type Outcome string

// The outcomes of an object.
const (
	Created      Outcome = "created"
	Configured   Outcome = "configured"
	Unchanged    Outcome = "unchanged"
	Applied      Outcome = "applied" // the live object could not be read: created or configured cannot be told apart
	Deleted      Outcome = "deleted"
	Available    Outcome = "available"  // a wait (OpWait) that saw the Deployment available
	NotWaited    Outcome = "not waited" // a wait in a dry run, which stores nothing to wait for
	Failed       Outcome = "failed"
	NotAttempted Outcome = "not attempted"
)

// ObjectResult is what happened to one object.
type ObjectResult struct {
	// Object names the object: "VirtualService ml/fraud".
	Object string
	// Op is the step's operation: apply, delete or wait.
	Op Op
	// Note is the step's Note ("widened: keeps subsets v1 while routes
	// move"), empty for most.
	Note string
	GVK  schema.GroupVersionKind
	// Namespace and Name identify the object.
	Namespace, Name string
	Outcome         Outcome
	// DryRun is set when nothing was stored.
	DryRun bool
	// Skipped is set when nothing was sent: the live object was already as
	// wanted (see Options.SendAll).
	Skipped bool
	// Diff is, for a configured object of a dry run, a unified diff of its
	// canonical YAML (-live +applied).
	Diff string
	// Err is why the object failed.
	Err error
}

// String reads like kubectl's output: "VirtualService ml/fraud configured",
// "DestinationRule ml/fraud configured (widened: keeps subsets v1 while
// routes move)".
func (r ObjectResult) String() string {
	s := r.Object + " " + string(r.Outcome)
	if r.Note != "" {
		s += " (" + r.Note + ")"
	}
	if r.DryRun && r.Outcome != Failed && r.Outcome != NotAttempted {
		s += " (dry run)"
	}
	if r.Err != nil {
		s += ": " + r.Err.Error()
	}
	return s
}

// Result is what Apply or Transition did, one entry per object in the
// order handled.
type Result struct {
	Objects []ObjectResult
}

// Sent returns the results of the objects that were sent to the server:
// all but those found as wanted already (Skipped).
func (r Result) Sent() []ObjectResult {
	var out []ObjectResult
	for _, o := range r.Objects {
		if !o.Skipped {
			out = append(out, o)
		}
	}
	return out
}

// With returns the results with one of the outcomes.
func (r Result) With(outcomes ...Outcome) []ObjectResult {
	var out []ObjectResult
	for _, o := range r.Objects {
		for _, want := range outcomes {
			if o.Outcome == want {
				out = append(out, o)
				break
			}
		}
	}
	return out
}

// Error is returned when an object fails: it names that object (the
// first to fail, in apply order) and why, and carries the Result, which
// says what was done and what was not attempted. Objects of earlier ranks
// are all done; objects of the same rank may be done, failed or not
// attempted, as they are sent side by side (see Options.Workers); no
// object of a later rank is attempted. A later Apply of the same objects
// converges.
type Error struct {
	Result Result
	// Failed is the object that failed.
	Failed ObjectResult
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "apply: %s failed: %v", e.Failed.Object, e.Failed.Err)
	done := e.Result.With(Created, Configured, Unchanged, Applied, Deleted, Available, NotWaited)
	left := e.Result.With(NotAttempted)
	fmt.Fprintf(&b, "; %d done", len(done))
	if len(left) > 0 {
		names := make([]string, len(left))
		for i, l := range left {
			names[i] = l.Object
		}
		fmt.Fprintf(&b, ", %d not attempted (%s)", len(left), strings.Join(names, ", "))
	}
	return b.String()
}

// Unwrap returns the failed object's error.
func (e *Error) Unwrap() error { return e.Failed.Err }

// ConflictError is a server-side apply conflict: fields of the object are
// owned by another field manager (a GitOps tool, a controller). Set
// Options.Force to take them over. Istio's CRDs make a VirtualService's
// spec.http an atomic list, so a tool that set one weight owns all the
// routes, and the conflict names .spec.http.
type ConflictError struct {
	Object string
	// Conflicts are the server's words, one per field: "conflict with
	// \"argocd\" using networking.istio.io/v1: .spec.http[0].route".
	Conflicts []string
	Err       error
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("%s: fields owned by another field manager: %s (Options.Force takes them over)",
		e.Object, strings.Join(e.Conflicts, "; "))
}

// Unwrap returns the API server's error.
func (e *ConflictError) Unwrap() error { return e.Err }

// asConflict turns an API server conflict into a *ConflictError.
func asConflict(object string, err error) error {
	if !apierrors.IsConflict(err) {
		return err
	}
	ce := &ConflictError{Object: object, Err: err}
	var status apierrors.APIStatus
	if errors.As(err, &status) && status.Status().Details != nil {
		for _, c := range status.Status().Details.Causes {
			if c.Type == metav1.CauseTypeFieldManagerConflict {
				msg := c.Message
				if c.Field != "" {
					msg += ": " + c.Field
				}
				ce.Conflicts = append(ce.Conflicts, msg)
			}
		}
	}
	if len(ce.Conflicts) == 0 {
		ce.Conflicts = []string{err.Error()}
	}
	return ce
}

// Apply server-side applies objects in the frozen make-before-break order of
// render.Sort, rank by rank (all Namespaces, then all security policy, …,
// then all VirtualServices), the objects of one rank up to Options.Workers
// at once, and returns what happened to each, in that order. Applying the
// same objects again changes nothing and reports them unchanged. At the
// first failure, or when ctx is done, it starts no further object, lets
// those under way finish, and returns an *Error naming the failed object
// and listing what was not attempted.
//
// Requests: one List per kind and namespace, to tell created, configured
// and unchanged apart (a Get per object of a kind whose List fails), and
// one apply per object, except that when the Client has the server's
// schemas an object whose live state already holds, owned by the field
// manager, exactly the fields and values wanted is not sent
// (Options.SendAll sends it). Up to Options.Workers requests are in flight
// at once. Re-applying an unchanged App of five kinds in one namespace is
// thus 5 Lists, whatever its size. Client-side rate limits apply to every
// request: client-go's default of 5 requests a second (burst 10) makes a
// first apply of thousands of objects take minutes whatever the workers,
// so give the adapters a rest.Config with QPS and Burst raised (200 and
// 400, say) to what the API server's priority and fairness allows the
// caller.
func Apply(ctx context.Context, c Client, objs []render.Object, opts Options) (Result, error) {
	sorted, err := render.Sorted(objs)
	if err != nil {
		return Result{}, err
	}
	steps := make([]Action, len(sorted))
	for i, o := range sorted {
		steps[i] = Action{Op: OpApply, Object: o}
	}
	return run(ctx, c, steps, opts, 0)
}

func applyOne(ctx context.Context, c Client, lo *liveObjects, o render.Object, opts Options, r *ObjectResult) error {
	y, err := render.MarshalYAML(o)
	if err != nil {
		return err
	}
	live, canRead, err := lo.get(ctx, r)
	if err != nil {
		return fmt.Errorf("reading it first: %w", err)
	}
	id := identity(o)
	var known verdict
	if !lo.cacheable {
		opts.Cache = nil
	}
	if lo.canCompare() && opts.Cache != nil {
		known = verdict{manager: opts.FieldManager, want: sha256.Sum256(y), schema: lo.digest}
		if lo.digest == "" {
			known.types = lo.types.TypeConverter
		}
		if opts.Cache.holds(id, live.Object, known) {
			r.Outcome, r.Skipped = Unchanged, true
			return nil
		}
	}
	u, err := canon.Unstructured(y)
	if err != nil {
		return err
	}
	types := lo.converter()
	if types != nil {
		if live.exists() && upToDate(types, live, u, opts.FieldManager) {
			opts.Cache.remember(id, live.Object, known)
			r.Outcome, r.Skipped = Unchanged, true
			return nil
		}
		opts.Cache.forget(id)
	}
	got, err := c.Apply(ctx, u, opts.patch())
	if err != nil {
		return asConflict(r.Object, err)
	}
	if !opts.DryRun {
		lo.applied(r, got)
		// What the server stored is, most often, as wanted from now on: a
		// Cache kept for the next call learns it here, beside the requests
		// of the other workers, rather than on the next call's path.
		if opts.Cache != nil && types != nil && got != nil && upToDate(types, unstructuredLive(got), u, opts.FieldManager) {
			opts.Cache.remember(id, got, known)
		}
	}
	switch {
	case !canRead:
		r.Outcome = Applied
	case !live.exists():
		r.Outcome = Created
	case opts.DryRun:
		r.Outcome = Unchanged
		if d := liveDiff(live.unstructured(), got); d != "" {
			r.Outcome, r.Diff = Configured, d
		}
	case got != nil && got.GetResourceVersion() == live.GetResourceVersion():
		r.Outcome = Unchanged
	default:
		r.Outcome = Configured
	}
	return nil
}

func deleteOne(ctx context.Context, c Client, o render.Object, opts Options, r *ObjectResult) error {
	if err := c.Delete(ctx, r.GVK, r.Namespace, r.Name, DeleteOptions{DryRun: opts.DryRun}); err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	r.Outcome = Deleted
	return nil
}

// liveDiff compares two stored objects' canonical YAML, without the fields
// the server maintains.
func liveDiff(live, next *unstructured.Unstructured) string {
	a, b := comparable(live), comparable(next)
	if a == b {
		return ""
	}
	return textdiff.Unified(a, b)
}

func comparable(u *unstructured.Unstructured) string {
	if u == nil {
		return ""
	}
	c := u.DeepCopy()
	unstructured.RemoveNestedField(c.Object, "status")
	for _, f := range []string{"managedFields", "resourceVersion", "generation", "uid", "creationTimestamp", "selfLink"} {
		unstructured.RemoveNestedField(c.Object, "metadata", f)
	}
	b, err := render.MarshalYAML(c)
	if err != nil {
		return err.Error()
	}
	return string(b)
}
