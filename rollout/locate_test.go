package rollout_test

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/mlmesh/mlmesh/mesh"
	"github.com/mlmesh/mlmesh/render"
	"github.com/mlmesh/mlmesh/rollout"
	"github.com/mlmesh/mlmesh/routing"
	"github.com/mlmesh/mlmesh/serving"
)

// dialects are the ways an App routes: Istio's API, the Gateway API, and
// the Gateway API in an ambient namespace (a waypoint applies the routes).
var dialects = []struct {
	name string
	app  func(mesh.App) mesh.App
}{
	{"istio", func(a mesh.App) mesh.App { return a }},
	{"gateway", func(a mesh.App) mesh.App { a.API = mesh.GatewayAPI; return a }},
	{"ambient", func(a mesh.App) mesh.App {
		a.API, a.Namespace.Injection = mesh.GatewayAPI, mesh.InjectAmbient
		return a
	}},
}

// canaryApp is a model at 90/10 behind a gateway, so that its routes are
// a mesh route and an ingress route.
func canaryApp() mesh.App {
	a := mesh.App{Namespace: mesh.Namespace{Name: "ml"}, Models: []mesh.Model{{
		Model:   serving.Model{Name: "fraud", Versions: []serving.Version{{Name: "v1", ModelURI: "s3://m/1"}, {Name: "v2", ModelURI: "s3://m/2"}}},
		Traffic: mesh.Traffic{Rules: []routing.Rule{{Split: routing.SplitOf(map[string]int32{"v1": 90, "v2": 10})}}},
	}}}
	return a
}

// stableAlone is the App before v2 existed: v1 takes everything.
func stableAlone() mesh.App {
	a := canaryApp()
	a.Models[0].Versions = a.Models[0].Versions[:1]
	a.Models[0].Traffic.Rules = nil
	return a
}

func build(t *testing.T, a mesh.App) []render.Object {
	t.Helper()
	objs, err := mesh.Build(a)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// TestLocateInEveryDialect: each step is found in the live routes it
// leaves, in every dialect; the App before the candidate existed is a
// start, not an error; routes changed by hand are refused.
func TestLocateInEveryDialect(t *testing.T) {
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			p, err := rollout.NewPlan(d.app(canaryApp()), "fraud", "v2", rollout.Strategy{Steps: []int32{10, 50}, ShadowPercent: 20})
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range p.Steps {
				i, found, err := p.Locate(s.Objects)
				if err != nil || !found || i != s.Index {
					t.Errorf("at %s: located %d, %v (%v)", s.Name(), i, found, err)
				}
			}
			if i, found, err := p.Locate(build(t, d.app(stableAlone()))); err != nil || found || i != 0 {
				t.Errorf("v1 alone: located %d, %v (%v), want the baseline to apply", i, found, err)
			}
			hand := canaryApp()
			hand.Models[0].Traffic.Rules[0].Split = routing.SplitOf(map[string]int32{"v1": 70, "v2": 30})
			if _, _, err := p.Locate(build(t, d.app(hand))); err == nil || !strings.Contains(err.Error(), "route as no step of the plan does") {
				t.Errorf("routes no step makes: %v, want a refusal", err)
			}
		})
	}
}

// TestLocateWithServerDefaults: the API server adds the Gateway API's
// defaults to a stored HTTPRoute (a backendRef's group and kind, a rule's
// default path match); the live route is still found at its step, and the
// shadow step (which holds more than the baseline) is not taken for the
// baseline.
func TestLocateWithServerDefaults(t *testing.T) {
	p, err := rollout.NewPlan(dialects[1].app(canaryApp()), "fraud", "v2", rollout.Strategy{Steps: []int32{10, 50}, ShadowPercent: 20})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range p.Steps {
		var live []render.Object
		for _, o := range s.Objects {
			u, err := render.Unstructured(o)
			if err != nil {
				t.Fatal(err)
			}
			if u.GetKind() == "HTTPRoute" {
				defaultRoute(u)
			}
			live = append(live, u)
		}
		if i, found, err := p.Locate(live); err != nil || !found || i != s.Index {
			t.Errorf("at %s with server defaults: located %d, %v (%v)", s.Name(), i, found, err)
		}
	}
}

// defaultRoute sets defaults the API server sets on an HTTPRoute.
func defaultRoute(u *unstructured.Unstructured) {
	rules, _, _ := unstructured.NestedSlice(u.Object, "spec", "rules")
	for _, r := range rules {
		rule := r.(map[string]any)
		if _, ok := rule["matches"]; !ok {
			rule["matches"] = []any{map[string]any{"path": map[string]any{"type": "PathPrefix", "value": "/"}}}
		}
		refs, _ := rule["backendRefs"].([]any)
		for _, b := range refs {
			ref := b.(map[string]any)
			if _, ok := ref["group"]; !ok {
				ref["group"], ref["kind"] = "", "Service"
			}
		}
	}
	_ = unstructured.SetNestedSlice(u.Object, rules, "spec", "rules")
}
