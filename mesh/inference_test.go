package mesh_test

import (
	"strings"
	"testing"

	"github.com/mlmesh/mlmesh/ingress"
	"github.com/mlmesh/mlmesh/mesh"
	"github.com/mlmesh/mlmesh/routing"
	"github.com/mlmesh/mlmesh/security"
	"github.com/mlmesh/mlmesh/serving"
)

// inferenceApp is a model on vLLM behind a gateway in the Gateway API
// dialect, with an InferencePool per version: v2 previewed by a header,
// every other request on v1, each rule to one pool.
func inferenceApp() mesh.App {
	return mesh.App{
		API:       mesh.GatewayAPI,
		Namespace: mesh.Namespace{Name: "llm"},
		Gateways:  []ingress.Spec{{Name: "llm-gateway", Servers: []ingress.Server{{Port: 80, Hosts: []string{"chat.example.com"}}}}},
		Models: []mesh.Model{{
			Model: serving.Model{Name: "chat", Runtime: serving.VLLM(), Versions: []serving.Version{
				{Name: "v1", ModelURI: "org/model-1"}, {Name: "v2", ModelURI: "org/model-2"}}},
			Traffic: mesh.Traffic{Rules: []routing.Rule{
				{Match: []routing.Match{{Headers: map[string]routing.StringMatch{"x-preview": routing.Exact("v2")}}}, Split: []routing.Destination{{Subset: "v2"}}},
				{Split: []routing.Destination{{Subset: "v1"}}},
			}},
			Expose:    &mesh.Expose{Gateway: "llm-gateway", Hosts: []string{"chat.example.com"}},
			Inference: &mesh.Inference{Pickers: map[string]serving.EndpointPicker{"v1": {Service: "chat-v1-epp"}, "v2": {Service: "chat-v2-epp"}}},
		}},
	}
}

// ambient moves an App to an ambient namespace.
func ambient(a mesh.App) mesh.App {
	a.Namespace.Injection = mesh.InjectAmbient
	return a
}

// TestInferenceObjects: a pool per version, before the routes; the
// gateway's route sends to the pools, the mesh route to the versions'
// Services.
func TestInferenceObjects(t *testing.T) {
	objs, err := mesh.Build(inferenceApp())
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, o := range objs {
		order = append(order, o.GetObjectKind().GroupVersionKind().Kind+"/"+o.GetName())
	}
	joined := strings.Join(order, " ")
	for _, want := range []string{"InferencePool/chat-v1 InferencePool/chat-v2", "HTTPRoute/chat HTTPRoute/chat-ingress"} {
		if !strings.Contains(joined, want) {
			t.Errorf("want %s in %s", want, joined)
		}
	}
	if strings.Index(joined, "InferencePool/") > strings.Index(joined, "HTTPRoute/") {
		t.Errorf("pools after routes: %s", joined)
	}
}

func TestInferenceChecks(t *testing.T) {
	for _, tc := range []struct {
		name   string
		break_ func(a *mesh.App)
		want   string
	}{
		{"Istio dialect", func(a *mesh.App) { a.API = mesh.IstioAPI },
			`models[0].inference: InferencePools are Gateway API backends: needs api: gateway`},
		{"a version without a picker", func(a *mesh.App) { delete(a.Models[0].Inference.Pickers, "v2") },
			`models[0].inference.pickers: required: an endpoint picker for the pool of version v2`},
		{"a picker of no version", func(a *mesh.App) { a.Models[0].Inference.Pickers["v3"] = serving.EndpointPicker{Service: "x"} },
			`models[0].inference.pickers[v3]: "v3" not found`},
		{"a picker's name", func(a *mesh.App) { a.Models[0].Inference.Pickers["v1"] = serving.EndpointPicker{Service: "Chat"} },
			`models[0].inference.pickers[v1].service: invalid value "Chat"`},
		{"no gateway route", func(a *mesh.App) { a.Models[0].Expose = nil },
			`models[0].inference: no gateway route sends to the model`},
		{"ambient with a default deny", func(a *mesh.App) {
			*a = ambient(*a)
			a.Namespace.DefaultDeny = true
			a.Models[0].Access = &mesh.Access{Allow: []security.Rule{{From: []security.Caller{{Namespace: "web"}, {ServiceAccount: "llm/llm-gateway-istio"}}}}}
		}, `models[0].inference: in an ambient namespace a pool's traffic does not pass the waypoint`},
		{"a split between pools", func(a *mesh.App) {
			a.Models[0].Traffic.Rules = []routing.Rule{{Split: routing.SplitOf(map[string]int32{"v1": 90, "v2": 10})}}
		}, `models[0].traffic.rules[0].split: a weighted split between InferencePools: Istio gives a rule one endpoint picker`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := inferenceApp()
			pk := map[string]serving.EndpointPicker{}
			for k, v := range a.Models[0].Inference.Pickers {
				pk[k] = v
			}
			a.Models[0].Inference = &mesh.Inference{Pickers: pk}
			tc.break_(&a)
			refusedApp(t, a, tc.want, 1)
		})
	}
}
