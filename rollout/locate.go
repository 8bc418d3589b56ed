package rollout

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/mlmesh/mlmesh/internal/labels"
	"github.com/mlmesh/mlmesh/names"
	"github.com/mlmesh/mlmesh/render"
)

// Locate finds the step that the live objects (apply.Managed's) are at, in
// whichever dialect the App routes: the step whose routes for the model
// (its VirtualServices, or its HTTPRoutes and GRPCRoutes, those labelled
// app=<model>) route as the live ones do. The API server sets defaults in
// the Gateway API's routes, so a live route matches a step's when it holds
// everything the step's holds; of several such steps the fullest matches.
//
// found is false, and index 0 (the baseline, which a run applies make
// before break), when the rollout has not started: the model has no live
// routes, or they send every request to the stable version and none to the
// candidate (the App as it was before the candidate existed). Live routes
// that route as no step does and not so (changed by hand, or another
// plan's) are an error, for a run must not jump traffic to a step it
// guesses.
func (p *Plan) Locate(live []render.Object) (index int, found bool, err error) {
	got, err := p.routes(live)
	if err != nil {
		return 0, false, fmt.Errorf("rollout: reading the live routes: %w", err)
	}
	if len(got) == 0 {
		return 0, false, nil
	}
	best, bestSize := -1, -1
	for i, s := range p.Steps {
		want, err := p.routes(s.Objects)
		if err != nil {
			return 0, false, err
		}
		if reflect.DeepEqual(want, got) {
			return i, true, nil
		}
		if size := leaves(want); size > bestSize && holds(got, want) {
			best, bestSize = i, size
		}
	}
	if best >= 0 {
		return best, true, nil
	}
	if p.stableAlone(got) {
		return 0, false, nil
	}
	return 0, false, fmt.Errorf("rollout: the live routes of %s/%s (%s) route as no step of the plan does (changed by hand, or by another rollout): apply one of the plan's steps first, the baseline being %s",
		p.Namespace, p.Model, strings.Join(sortedKeys(got), ", "), p.Steps[0])
}

// routes are the specs of the model's routes among objs, by kind and name.
func (p *Plan) routes(objs []render.Object) (map[string]any, error) {
	out := map[string]any{}
	for _, o := range objs {
		gvk := o.GetObjectKind().GroupVersionKind()
		if !p.routeKind(gvk.GroupKind()) || o.GetNamespace() != p.Namespace || o.GetLabels()[labels.App] != p.Model {
			continue
		}
		u, err := render.Unstructured(o)
		if err != nil {
			return nil, err
		}
		spec, _ := u.Object["spec"].(map[string]any)
		if spec == nil {
			spec = map[string]any{}
		}
		out[gvk.Kind+"/"+o.GetName()] = spec
	}
	return out, nil
}

// holds reports whether got holds everything want does: every key of a
// map, with a value that holds want's; lists of the same length, item by
// item; equal scalars.
func holds(got, want any) bool {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok || len(g) < len(w) {
			return false
		}
		for k, v := range w {
			if gv, ok := g[k]; !ok || !holds(gv, v) {
				return false
			}
		}
		return true
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for i := range w {
			if !holds(g[i], w[i]) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(got, want)
}

// leaves counts the scalars of a value.
func leaves(v any) int {
	switch x := v.(type) {
	case map[string]any:
		n := 0
		for _, e := range x {
			n += leaves(e)
		}
		return n
	case []any:
		n := 0
		for _, e := range x {
			n += leaves(e)
		}
		return n
	}
	return 1
}

// stableAlone reports whether routes send the model's requests to its
// stable version and never to the candidate: the VirtualServices name the
// stable subset and not the candidate's; the Gateway API routes send to
// the stable version's Service or pool, <model>-<stable>, and not to the
// candidate's.
func (p *Plan) stableAlone(routes map[string]any) bool {
	stable, candidate := 0, 0
	for key, spec := range routes {
		for _, v := range p.versionsRouted(strings.HasPrefix(key, "VirtualService/"), spec) {
			switch v {
			case p.Stable:
				stable++
			case p.Candidate:
				candidate++
			}
		}
	}
	return stable > 0 && candidate == 0
}

// versionsRouted lists the versions of the model that a route's spec
// sends or mirrors requests to: subsets of a VirtualService, the stable's
// and candidate's Services and pools (<model>-<version>) of a Gateway API
// route.
func (p *Plan) versionsRouted(virtualService bool, spec any) []string {
	var out []string
	var walk func(key string, v any, backend bool)
	walk = func(key string, v any, backend bool) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				walk(k, e, backend || k == "backendRefs" || k == "backendRef")
			}
		case []any:
			for _, e := range x {
				walk(key, e, backend)
			}
		case string:
			switch {
			case virtualService && key == "subset", key == "modelRewrite": // a rewrite's target: a revision
				out = append(out, x)
			case !virtualService && backend && key == "name":
				for _, v := range []string{p.Stable, p.Candidate} {
					if x == names.Deployment(p.Model, v) {
						out = append(out, v)
					}
				}
			}
		}
	}
	walk("", spec, false)
	return out
}

func sortedKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
