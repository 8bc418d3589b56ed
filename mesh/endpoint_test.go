package mesh_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/mlmesh/mlmesh/ingress"
	"github.com/mlmesh/mlmesh/internal/scenarios"
	"github.com/mlmesh/mlmesh/mesh"
	"github.com/mlmesh/mlmesh/serving"
)

// TestEndpointObjects: the router's objects and the endpoint's route, in
// make-before-break order (the filter after the router it calls and the
// Gateway it attaches to, before the route that matches what it writes).
func TestEndpointObjects(t *testing.T) {
	objs, err := mesh.Build(scenarios.LLMEndpoint())
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, o := range objs {
		if strings.HasPrefix(o.GetName(), "llm") && o.GetObjectKind().GroupVersionKind().Kind != "Namespace" {
			order = append(order, o.GetObjectKind().GroupVersionKind().Kind+"/"+o.GetName())
		}
	}
	want := "RequestAuthentication/llm-llm-gateway AuthorizationPolicy/llm-router Service/llm-router Deployment/llm-router Gateway/llm-gateway EnvoyFilter/llm-router HTTPRoute/llm"
	var rewrites []string
	for _, o := range objs {
		if o.GetObjectKind().GroupVersionKind().Kind == "InferenceModelRewrite" {
			rewrites = append(rewrites, o.GetName())
		}
	}
	if fmt.Sprint(rewrites) != "[qwen-v1]" {
		t.Errorf("rewrites %v, want qwen's pool's alone: chat has no pools, and no revisions", rewrites)
	}
	if got := strings.Join(order, " "); got != want {
		t.Errorf("objects\n got %s\nwant %s", got, want)
	}
}

// TestEndpointValidation: each bad endpoint is refused at the field the
// user wrote, with what was expected.
func TestEndpointValidation(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*mesh.App)
		want   []string
	}{
		{"the Istio dialect", func(a *mesh.App) { a.API = mesh.IstioAPI },
			[]string{`endpoints[0]: invalid value "llm": the body-based router is an ext_proc filter on a Gateway of the endpoint's own: needs api: gateway`}},
		{"a model of no App model", func(a *mesh.App) { a.Endpoints[0].Models = append(a.Endpoints[0].Models, "mistral") },
			[]string{`endpoints[0].models[2]: "mistral" not found: an endpoint serves models of the App`}},
		{"no models", func(a *mesh.App) { a.Endpoints[0].Models = nil }, []string{"endpoints[0].models: required"}},
		{"a model name served twice", func(a *mesh.App) { a.Models[1].ServedName = a.Models[0].ServedName },
			[]string{`endpoints[0].models[1]: duplicate value "meta-llama/Llama-3.1-8B-Instruct": the name clients send is already served by endpoints[0].models[0]`}},
		{"an adapter named as another model", func(a *mesh.App) { a.Models[1].Adapters[0].Name = "support" },
			[]string{`models[1].adapters[0].name: duplicate value "support": the name clients send is already served by models[0].adapters[0].name`}},
		{"a model in two endpoints", func(a *mesh.App) {
			e := a.Endpoints[0]
			e.Name, e.Host, e.Models = "llm2", "chat.example.com", []string{"qwen"}
			a.Endpoints = append(a.Endpoints, e)
		}, []string{`endpoints[1].models[0]: duplicate value "Qwen/Qwen2.5-7B-Instruct": the name clients send is already served by endpoints[0].models[1]`,
			`endpoints[1].gateway: invalid value "llm-gateway": already carries the router of endpoints[0]`}},
		{"an adapter on a missing version", func(a *mesh.App) { a.Models[0].Adapters[1].Versions = []string{"v3"} },
			[]string{`models[0].adapters[1].versions[0]: "v3" not found`}},
		{"a host the gateway does not serve", func(a *mesh.App) { a.Endpoints[0].Host = "api.example.com" },
			[]string{`endpoints[0].host: invalid value "api.example.com"`}},
		{"a gateway of another namespace", func(a *mesh.App) { a.Gateways[0].Namespace = "istio-ingress" },
			[]string{`endpoints[0].gateway: invalid value "llm-gateway": the gateway is in namespace "istio-ingress": the router's filter attaches to a Gateway in the endpoint's namespace, "llm"`}},
		{"an unknown gateway", func(a *mesh.App) { a.Endpoints[0].Gateway = "edge" }, []string{`endpoints[0].gateway: "edge" not found`}},
		{"a relative path", func(a *mesh.App) { a.Endpoints[0].Paths = []string{"v1/completions"} },
			[]string{`endpoints[0].paths[0]: invalid value "v1/completions": an absolute path`}},
		{"no router", func(a *mesh.App) { zero := int32(0); a.Endpoints[0].Router.Replicas = &zero },
			[]string{`endpoints[0].router.replicas: invalid value "0": at least 1`}},
		{"a bad name", func(a *mesh.App) { a.Endpoints[0].Name = "LLM" }, []string{`endpoints[0].name: invalid value "LLM"`}},
		{"priority without a token", func(a *mesh.App) { a.GatewayJWT = nil },
			[]string{`endpoints[0].priority: required: the claims of a token the gateway validates: add gatewayJWT for gateway "llm-gateway"`}},
		{"priority without a claim", func(a *mesh.App) { a.Endpoints[0].Priority = &mesh.EndpointPriority{} },
			[]string{"endpoints[0].priority: required: a claim: objectiveClaim, fairnessClaim or both"}},
		{"objectives of two pools", func(a *mesh.App) {
			q := &a.Models[1]
			q.Versions = append(q.Versions, q.Versions[0])
			q.Versions[1].Name = "v2"
			q.Inference.Pickers["v2"] = serving.EndpointPicker{Service: "qwen-v2-epp"}
		}, []string{`endpoints[0].priority.objectives: invalid value "2": the endpoint's models have 2 InferencePools (qwen-v1, qwen-v2)`}},
		{"an objective named twice", func(a *mesh.App) { a.Endpoints[0].Priority.Objectives[1].Name = "interactive" },
			[]string{`endpoints[0].priority.objectives[1].name: duplicate value "interactive"`}},
		{"revisions without a pool", func(a *mesh.App) { a.Models[1].Inference = nil },
			[]string{`models[1].adapters[0].revisions: invalid value "2": the split between an adapter's revisions is made by the InferencePool's endpoint picker (an InferenceModelRewrite): needs models[1].inference`}},
		{"revision weights not adding up", func(a *mesh.App) { a.Models[1].Adapters[0].Revisions[1].Weight = 20 },
			[]string{`models[1].adapters[0].revisions: invalid value "110": the revisions' weights add up to 100`}},
		{"one revision", func(a *mesh.App) { a.Models[1].Adapters[0].Revisions = a.Models[1].Adapters[0].Revisions[:1] },
			[]string{`models[1].adapters[0].revisions: invalid value "1": a canary between revisions needs at least two`}},
		{"a source and revisions", func(a *mesh.App) { a.Models[1].Adapters[0].Source = "acme/x" },
			[]string{`models[1].adapters[0].source: invalid value "acme/x": give either source or revisions`}},
		{"a revision named as an adapter", func(a *mesh.App) { a.Models[1].Adapters[0].Revisions[1].Name = "summarize" },
			[]string{`models[1].adapters[0].revisions[1].name: invalid value "summarize": is already the name of this model's adapters[0].name`}},
		{"adapters on TF Serving", func(a *mesh.App) {
			a.Models[1].Runtime, a.Models[1].ServedName = serving.TFServing(), ""
		}, []string{`models[1].adapters: invalid value "1": runtime "tfserving" serves the model under its name and loads no adapters`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app := scenarios.LLMEndpoint()
			app.Gateways[0].Servers[0].TLS = nil
			app.Gateways[0].Servers[0].Protocol = ingress.HTTP
			app.Gateways[0].Servers[0].Port = 80
			tc.mutate(&app)
			_, err := mesh.Build(app)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not say %q:\n%v", w, err)
				}
			}
		})
	}
}

// TestCheckEndpoints: two teams' Apps on one host may not serve one name;
// on another host they may. Each problem names both fields.
func TestCheckEndpoints(t *testing.T) {
	a, b := scenarios.LLMEndpoint(), scenarios.LLMEndpoint()
	b.Namespace.Name = "team-b"
	err := mesh.CheckEndpoints(a, b)
	want := `apps[1].endpoints[0].models[0]: duplicate value "meta-llama/Llama-3.1-8B-Instruct": on host llm.example.com the name clients send is already served by apps[0].endpoints[0].models[0]`
	if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), `apps[1].models[1].adapters[0].name: duplicate value "summarize"`) {
		t.Errorf("two Apps serving the same names on one host: %v", err)
	}
	b.Endpoints[0].Host = "llm-b.example.com"
	if err := mesh.CheckEndpoints(a, b); err != nil {
		t.Errorf("the same names on two hosts: %v", err)
	}
}
