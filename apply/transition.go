package apply

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"k8s.io/apimachinery/pkg/api/meta"
	"sort"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/mlmesh/mlmesh/internal/labels"
	"github.com/mlmesh/mlmesh/internal/order"
	"github.com/mlmesh/mlmesh/render"
)

// Op is what an Action does.
type Op string

// The operations of a transition.
const (
	OpApply  Op = "apply"
	OpDelete Op = "delete"
	// OpWait waits until a Deployment is available (see
	// TransitionOptions.WaitAvailable).
	OpWait Op = "wait"
)

// Action is one operation of a transition, on one object.
type Action struct {
	Op     Op
	Object render.Object
	// Note says why the action is there when its Op does not: a
	// DestinationRule applied twice is first "widened: keeps subsets v1
	// while routes move", then "narrowed: drops subsets v1".
	Note string
}

// String reads "apply DestinationRule ml/fraud (widened: keeps subsets v1
// while routes move)".
func (s Action) String() string {
	out := string(s.Op) + " " + render.Describe(s.Object)
	if s.Note != "" {
		out += " (" + s.Note + ")"
	}
	return out
}

// managedSelector is the label every object mlmesh builds carries; only
// objects with it are ever pruned.
func managedSelector() map[string]string {
	return map[string]string{labels.ManagedBy: labels.Manager}
}

// TransitionOptions are the options of Transition.
type TransitionOptions struct {
	Options
	// WaitAvailable waits, before any route is changed, until every
	// Deployment that is new or changed reports Available, so that traffic
	// never moves to pods that are not ready.
	WaitAvailable bool
	// WaitTimeout bounds each wait; 0 means 5 minutes.
	WaitTimeout time.Duration
	// PruneNamespaces lets a transition delete Namespaces that mlmesh
	// created and that are no longer wanted; by default they are kept, as
	// deleting one deletes everything in it.
	PruneNamespaces bool
}

// PlanTransition returns the actions that take a cluster from the objects
// applied before to the objects wanted now, safe at every step, touching
// only what differs: an object the same in before and wanted is not in the
// plan (Transition moves between two states; Apply also corrects what
// drifted from them). Of opts it reads WaitAvailable and PruneNamespaces:
//
//  1. wanted objects are applied in make-before-break order, except that a
//     DestinationRule is first applied with the union of its old and new
//     subsets, so that routes still naming an old subset keep working;
//  2. with WaitAvailable, new or changed Deployments are waited for before
//     the first route (VirtualService, HTTPRoute or GRPCRoute) is applied;
//  3. routes move traffic (they come last in the apply order);
//  4. DestinationRules that were widened are applied as wanted, dropping the
//     old subsets no route names any more;
//  5. objects applied before and no longer wanted are deleted, routes first
//     (the reverse of the apply order). Only objects carrying the
//     app.kubernetes.io/managed-by: mlmesh label are deleted, and
//     Namespaces only with PruneNamespaces.
//
// before may be what a previous render returned, or what Managed finds in
// the cluster.
func PlanTransition(before, wanted []render.Object, opts TransitionOptions) ([]Action, error) {
	if err := render.SetKinds(before); err != nil {
		return nil, err
	}
	wantedSorted, err := render.Sorted(wanted)
	if err != nil {
		return nil, err
	}
	old := map[string]render.Object{}
	for _, o := range before {
		old[identity(o)] = o
	}
	var steps, narrow []Action
	waited := false
	for _, o := range wantedSorted {
		prev := old[identity(o)]
		if prev != nil && !changed(prev, o) {
			continue // the same before and after: nothing to move
		}
		gk := o.GetObjectKind().GroupVersionKind().GroupKind()
		if order.IsRoute(gk) && opts.WaitAvailable && !waited {
			waited = true
			// The Deployments in the plan so far are the new and changed
			// ones (Deployments come before routes in apply order).
			for _, st := range steps {
				if st.Object.GetObjectKind().GroupVersionKind().GroupKind() == (schema.GroupKind{Group: "apps", Kind: "Deployment"}) {
					steps = append(steps, Action{Op: OpWait, Object: st.Object})
				}
			}
		}
		if gk == (schema.GroupKind{Group: "networking.istio.io", Kind: "DestinationRule"}) && prev != nil {
			if wide, kept, err := widen(prev, o); err != nil {
				return nil, err
			} else if len(kept) > 0 {
				subsets := strings.Join(kept, ", ")
				steps = append(steps, Action{Op: OpApply, Object: wide, Note: "widened: keeps subsets " + subsets + " while routes move"})
				narrow = append(narrow, Action{Op: OpApply, Object: o, Note: "narrowed: drops subsets " + subsets})
				continue
			}
		}
		steps = append(steps, Action{Op: OpApply, Object: o})
	}
	steps = append(steps, narrow...)
	wantedIDs := map[string]bool{}
	for _, o := range wantedSorted {
		wantedIDs[identity(o)] = true
	}
	var gone []render.Object
	for _, o := range before {
		if wantedIDs[identity(o)] || o.GetLabels()[labels.ManagedBy] != labels.Manager {
			continue
		}
		if o.GetObjectKind().GroupVersionKind().Kind == "Namespace" && !opts.PruneNamespaces {
			continue
		}
		gone = append(gone, o)
	}
	render.RemovalOrder(gone)
	for _, o := range gone {
		steps = append(steps, Action{Op: OpDelete, Object: o})
	}
	return steps, nil
}

// changed reports whether a wanted object differs from what was applied.
// The same canonical YAML means the same content (Unstructured is read from
// it); only when the bytes differ (a live object against a typed one, say)
// is the content compared, which costs a round trip through JSON.
func changed(prev, next render.Object) bool {
	if prev == nil {
		return true
	}
	if a, err := render.MarshalYAML(prev); err == nil {
		if b, err := render.MarshalYAML(next); err == nil && bytes.Equal(a, b) {
			return false
		}
	}
	a, err1 := canonicalContent(prev)
	b, err2 := canonicalContent(next)
	return err1 != nil || err2 != nil || a != b
}

func canonicalContent(o render.Object) (string, error) {
	u, err := render.Unstructured(o)
	if err != nil {
		return "", err
	}
	b, err := render.MarshalYAML(u)
	return string(b), err
}

// widen returns next with the subsets of prev it lacks appended, and their
// names; none when next has every subset of prev.
func widen(prev, next render.Object) (render.Object, []string, error) {
	p, err := render.Unstructured(prev)
	if err != nil {
		return nil, nil, err
	}
	n, err := render.Unstructured(next)
	if err != nil {
		return nil, nil, err
	}
	oldSubsets, _, _ := unstructured.NestedSlice(p.Object, "spec", "subsets")
	newSubsets, _, _ := unstructured.NestedSlice(n.Object, "spec", "subsets")
	have := map[string]bool{}
	for _, s := range newSubsets {
		if m, ok := s.(map[string]any); ok {
			have[fmt.Sprint(m["name"])] = true
		}
	}
	var extra []any
	for _, s := range oldSubsets {
		if m, ok := s.(map[string]any); ok && !have[fmt.Sprint(m["name"])] {
			extra = append(extra, s)
		}
	}
	if len(extra) == 0 {
		return nil, nil, nil
	}
	name := func(s any) string { return fmt.Sprint(s.(map[string]any)["name"]) }
	sort.SliceStable(extra, func(i, j int) bool { return name(extra[i]) < name(extra[j]) })
	if err := unstructured.SetNestedSlice(n.Object, append(newSubsets, extra...), "spec", "subsets"); err != nil {
		return nil, nil, err
	}
	names := make([]string, len(extra))
	for i, s := range extra {
		names[i] = name(s)
	}
	return n, names, nil
}

// Transition carries out PlanTransition(before, wanted) with c: a new
// version is applied and subsetted before any route sends it traffic, and a
// removed one loses its routes, then its subset, then its workload. On
// failure the *Error says where it stopped; running the same
// Transition again (or an Apply of wanted) converges.
func Transition(ctx context.Context, c Client, before, wanted []render.Object, opts TransitionOptions) (Result, error) {
	steps, err := PlanTransition(before, wanted, opts)
	if err != nil {
		return Result{}, err
	}
	if opts.WaitTimeout == 0 {
		opts.WaitTimeout = 5 * time.Minute
	}
	return run(ctx, c, steps, opts.Options, opts.WaitTimeout)
}

// Run carries out actions with c, in order, as Transition carries out the
// whole of PlanTransition's: a caller that coordinates several clusters
// runs a plan's parts one at a time (package fleet runs every cluster's
// deletions only once every cluster's routes have moved). Of opts it reads
// Options and WaitTimeout.
func Run(ctx context.Context, c Client, actions []Action, opts TransitionOptions) (Result, error) {
	if opts.WaitTimeout == 0 {
		opts.WaitTimeout = 5 * time.Minute
	}
	return run(ctx, c, actions, opts.Options, opts.WaitTimeout)
}

// ErrNotAvailable is the error of a wait (TransitionOptions.WaitAvailable)
// whose Deployment did not report Available within WaitTimeout; an *Error
// of a Transition unwraps to it.
var ErrNotAvailable = errors.New("not available")

// WaitAvailable waits until the Deployment namespace/name reports
// Available for its current generation, as Transition's waits do, for at
// most timeout (0 means 5 minutes); past it the error wraps
// ErrNotAvailable. A rollout waits so for its candidate before every step
// that sends it traffic, changed or not.
func WaitAvailable(ctx context.Context, c Reader, namespace, name string, timeout time.Duration) error {
	if timeout <= 0 {
		timeout = 5 * time.Minute
	}
	r := ObjectResult{GVK: schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}, Namespace: namespace, Name: name}
	return waitAvailable(ctx, c, Options{}, timeout, &r)
}

// waitAvailable polls a Deployment until its Available condition is True.
func waitAvailable(ctx context.Context, c Reader, opts Options, waitTimeout time.Duration, r *ObjectResult) error {
	if opts.DryRun {
		r.Outcome = NotWaited // a dry run stores nothing to wait for
		return nil
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, waitTimeout)
	defer cancel()
	notAvailable := func() error {
		if parent.Err() != nil {
			return parent.Err() // cancelled: no verdict on the Deployment
		}
		return fmt.Errorf("%w after %s: %w", ErrNotAvailable, waitTimeout, ctx.Err())
	}
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		u, err := c.Get(ctx, r.GVK, r.Namespace, r.Name)
		if err != nil && ctx.Err() != nil {
			// The deadline passed during the Get (a client's rate limiter
			// says so in its own words): the Deployment was not available.
			return notAvailable()
		}
		if err != nil && !apierrors.IsNotFound(err) {
			return err
		}
		if err == nil && available(u) {
			r.Outcome = Available
			return nil
		}
		select {
		case <-ctx.Done():
			return notAvailable()
		case <-tick.C:
		}
	}
}

func available(u *unstructured.Unstructured) bool {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		if m, ok := c.(map[string]any); ok && m["type"] == "Available" && m["status"] == "True" {
			gen, _, _ := unstructured.NestedInt64(u.Object, "status", "observedGeneration")
			return gen >= u.GetGeneration()
		}
	}
	return false
}

// Managed lists the objects in namespace that carry
// mlmesh's managed-by label, of the given kinds or, with none given, of
// every namespaced kind mlmesh builds (one List request per kind): what
// mlmesh applied before, for Transition's before. An App owns its
// namespace: given this list, a Transition prunes every mlmesh object in the
// namespace that the App no longer wants, so two Apps must not share a
// namespace. A kind the cluster does not serve (Gateway API's, where its
// CRDs are not installed) is skipped: there is none of it. The objects are
// unstructured, whatever the Reader listed them as.
func Managed(ctx context.Context, r Reader, namespace string, kinds ...schema.GroupVersionKind) ([]render.Object, error) {
	if len(kinds) == 0 {
		kinds = order.Built
	}
	var out []render.Object
	for _, gvk := range kinds {
		list, err := r.List(ctx, gvk, namespace, managedSelector())
		if meta.IsNoMatchError(err) {
			continue // the cluster does not serve the kind: none of it to find
		}
		if err != nil {
			return nil, fmt.Errorf("listing %s: %w", gvk.Kind, err)
		}
		for _, obj := range list {
			u, err := asUnstructured(obj)
			if err != nil {
				return nil, fmt.Errorf("listing %s: %w", gvk.Kind, err)
			}
			u.SetGroupVersionKind(gvk)
			out = append(out, u)
		}
	}
	return out, nil
}
