package conformance

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	listener "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	route "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	extproc "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	headermutation "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/header_mutation/v3"
	jwtfilter "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/jwt_authn/v3"
	hcm "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	networkingv1alpha3 "istio.io/client-go/pkg/apis/networking/v1alpha3"
	istiogateway "istio.io/istio/pilot/pkg/config/kube/gateway"
	"istio.io/istio/pilot/pkg/model"
	"istio.io/istio/pilot/test/xds"

	"github.com/mlmesh/mlmesh/internal/scenarios"
	"github.com/mlmesh/mlmesh/mesh"
	"github.com/mlmesh/mlmesh/render"
)

// The LLM endpoint of scenarios.LLMEndpoint, as the gateway's Envoy gets
// it from Istio's config generator: which clusters each model name in the
// body router's header is sent to, in percent.
// qwen's requests go to its InferencePool, which Istio routes to through
// the pool's shadow Service.
var endpointWant = map[string]map[string]uint32{
	"meta-llama/Llama-3.1-8B-Instruct": {"chat-v1": 90, "chat-v2": 10},
	"support":                          {"chat-v1": 90, "chat-v2": 10},
	"sql":                              {"chat-v2": 100},
	"Qwen/Qwen2.5-7B-Instruct":         {poolShadow("qwen-v1"): 100},
	"summarize":                        {poolShadow("qwen-v1"): 100},
}

func poolShadow(pool string) string {
	s, _ := istiogateway.InferencePoolServiceName(pool)
	return s
}

const routerCluster = "outbound|9004||llm-router.llm.svc.cluster.local"

func endpointBundle(t *testing.T, app mesh.App) *Bundle {
	t.Helper()
	stream, err := render.YAML(build(t, app))
	if err != nil {
		t.Fatal(err)
	}
	b, err := ParseBundle("llm-endpoint", stream)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestLLMEndpointGateway feeds the endpoint to Istio's config generator,
// in both namespaces' modes, and checks what the gateway's Envoy does:
// its HTTPS listener's filter chain calls the body router (ext_proc, to the
// router's cluster, failing closed, the body streamed) right before Envoy's
// router filter; the router's cluster exists, over Istio's mutual TLS;
// "no route" is answered with the OpenAI-style 404; and the routes for
// llm.example.com send each model name, on each OpenAI path, to the
// versions that serve it in the model's shares, with nothing that would
// take a name no model serves. The negative controls rename an adapter
// and change a weight: the check reports each.
func TestLLMEndpointGateway(t *testing.T) {
	t.Run("sidecar", func(t *testing.T) {
		m, err := NewMesh(t, endpointBundle(t, scenarios.LLMEndpoint()), "llm", true)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range append(listenerProblems(t, m.Server, m.Gateway), endpointRouteProblems(m.Server.Routes(m.Gateway), endpointWant)...) {
			t.Error(p)
		}
	})
	t.Run("ambient", func(t *testing.T) {
		m, err := NewAmbientMesh(t, endpointBundle(t, scenarios.Ambient(scenarios.LLMEndpoint())))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range append(listenerProblems(t, m.Server, m.Gateway), endpointRouteProblems(m.Server.Routes(m.Gateway), endpointWant)...) {
			t.Error(p)
		}
	})
	t.Run("negative", func(t *testing.T) {
		renamed := scenarios.LLMEndpoint()
		renamed.Models[0].Adapters[1].Name = "sql-v2"
		reweighed := scenarios.LLMEndpoint()
		reweighed.Models[0].Traffic.Rules[0].Split[0].Weight, reweighed.Models[0].Traffic.Rules[0].Split[1].Weight = 80, 20
		for what, app := range map[string]mesh.App{"an adapter renamed": renamed, "a weight changed": reweighed} {
			m, err := NewMesh(t, endpointBundle(t, app), "llm", true)
			if err != nil {
				t.Fatal(err)
			}
			if len(endpointRouteProblems(m.Server.Routes(m.Gateway), endpointWant)) == 0 {
				t.Errorf("%s: the check saw nothing wrong", what)
			}
		}
		// Without the filter that removes the clients' headers, a client
		// without a token schedules itself as premium.
		objs := build(t, scenarios.LLMEndpoint())
		for _, o := range objs {
			if ef, ok := o.(*networkingv1alpha3.EnvoyFilter); ok {
				ef.Spec.ConfigPatches = ef.Spec.ConfigPatches[1:]
			}
		}
		stream, err := render.YAML(objs)
		if err != nil {
			t.Fatal(err)
		}
		b, err := ParseBundle("llm-endpoint", stream)
		if err != nil {
			t.Fatal(err)
		}
		m, err := NewMesh(t, b, "llm", true)
		if err != nil {
			t.Fatal(err)
		}
		if p := strings.Join(listenerProblems(t, m.Server, m.Gateway), "\n"); !strings.Contains(p, "no token reaches the body router with map[x-gateway-destination-endpoint:10.0.0.9:8000") {
			t.Errorf("without the header filter, the check says: %s", p)
		}
	})
}

// listenerProblems checks the gateway's listeners for the body router's
// filter and the 404 answer, and its clusters for the router's.
func listenerProblems(t *testing.T, s *xds.FakeDiscoveryServer, gateway *model.Proxy) []string {
	var problems []string
	chains := 0
	for _, l := range s.Listeners(gateway) {
		for _, fc := range l.FilterChains {
			for _, f := range fc.Filters {
				if f.Name != "envoy.filters.network.http_connection_manager" {
					continue
				}
				h := &hcm.HttpConnectionManager{}
				if err := f.GetTypedConfig().UnmarshalTo(h); err != nil {
					t.Fatal(err)
				}
				chains++
				problems = append(problems, chainProblems(t, l, h)...)
			}
		}
	}
	if chains == 0 {
		problems = append(problems, "the gateway has no HTTP filter chain")
	}
	found := false
	for _, c := range s.Clusters(gateway) {
		if c.Name == routerCluster {
			found = true
			if len(c.TransportSocketMatches) == 0 && c.TransportSocket == nil {
				problems = append(problems, routerCluster+": no mutual TLS")
			}
		}
	}
	if !found {
		problems = append(problems, "the gateway has no cluster "+routerCluster)
	}
	return problems
}

// chainProblems checks one HTTP filter chain: ext_proc to the router just
// before the router filter, and the local reply for "no route".
func chainProblems(t *testing.T, l *listener.Listener, h *hcm.HttpConnectionManager) []string {
	var names []string
	for _, f := range h.HttpFilters {
		names = append(names, f.Name)
	}
	i := slices.Index(names, "envoy.filters.http.ext_proc.bbr")
	if i < 0 || i+1 >= len(names) || names[i+1] != "envoy.filters.http.router" {
		return []string{fmt.Sprintf("%s: the body router is not right before the router filter: %v", l.Name, names)}
	}
	ep := &extproc.ExternalProcessor{}
	if err := h.HttpFilters[i].GetTypedConfig().UnmarshalTo(ep); err != nil {
		t.Fatal(err)
	}
	var problems []string
	if c := ep.GetGrpcService().GetEnvoyGrpc().GetClusterName(); c != routerCluster || ep.FailureModeAllow {
		problems = append(problems, fmt.Sprintf("%s: ext_proc calls %q, failing open %v", l.Name, c, ep.FailureModeAllow))
	}
	if mode := ep.GetProcessingMode(); mode.GetRequestBodyMode() != extproc.ProcessingMode_FULL_DUPLEX_STREAMED || mode.GetResponseHeaderMode() != extproc.ProcessingMode_SKIP {
		problems = append(problems, fmt.Sprintf("%s: processing mode %v", l.Name, mode))
	}
	problems = append(problems, schedulingProblems(t, l, h)...)
	notFound := false
	for _, mp := range h.GetLocalReplyConfig().GetMappers() {
		flags := mp.GetFilter().GetResponseFlagFilter().GetFlags()
		body := mp.GetBodyFormatOverride().GetJsonFormat().GetFields()["error"].GetStructValue().GetFields()
		notFound = notFound || slices.Contains(flags, "NR") && body["code"].GetStringValue() == "model_not_found" &&
			strings.Contains(body["message"].GetStringValue(), "%REQ(x-gateway-model-name)%")
	}
	if !notFound {
		problems = append(problems, l.Name+": no OpenAI-style 404 for a request no route takes")
	}
	return problems
}

// endpointRouteProblems compares the routes of llm.example.com with want:
// each route matches one model name (exactly, in the router's header) on
// one of the OpenAI paths (exactly), and sends it to want's versions.
func endpointRouteProblems(rcs []*route.RouteConfiguration, want map[string]map[string]uint32) []string {
	got := map[string]map[string]uint32{}
	paths := map[string][]string{}
	var problems []string
	for _, rc := range rcs {
		for _, vh := range rc.VirtualHosts {
			if !slices.Contains(vh.Domains, "llm.example.com") {
				continue
			}
			for _, r := range vh.Routes {
				name, ok := modelNameOf(r.GetMatch())
				if !ok {
					problems = append(problems, fmt.Sprintf("a route that does not match a model name would take unknown models: %v", r.GetMatch()))
					continue
				}
				clusters := map[string]uint32{}
				for c, w := range simplify(r).Clusters {
					clusters[strings.Split(strings.Split(c, "|")[3], ".")[0]] = w
				}
				got[name] = clusters
				paths[name] = append(paths[name], r.GetMatch().GetPath())
			}
		}
	}
	for name, w := range want {
		if fmt.Sprint(got[name]) != fmt.Sprint(w) {
			problems = append(problems, fmt.Sprintf("%q goes to %v, want %v", name, got[name], w))
		}
		sort.Strings(paths[name])
		if fmt.Sprint(paths[name]) != fmt.Sprint(mesh.DefaultEndpointPaths[:]) && fmt.Sprint(paths[name]) != "[/v1/chat/completions /v1/completions /v1/embeddings]" {
			problems = append(problems, fmt.Sprintf("%q is routed on %v", name, paths[name]))
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			problems = append(problems, fmt.Sprintf("%q is routed, and no model serves it", name))
		}
	}
	return problems
}

// modelNameOf is the model name a route matches: an exact match of the
// router's header.
func modelNameOf(m *route.RouteMatch) (string, bool) {
	for _, h := range m.GetHeaders() {
		if h.GetName() == mesh.ModelHeader {
			if e := h.GetStringMatch().GetExact(); e != "" {
				return e, true
			}
		}
	}
	return "", false
}

// schedulingProblems runs the scheduling headers of requests through the
// HTTP filters of a gateway chain as Envoy would (the header mutations,
// then the JWT filter's claim headers, in the chain's order, up to the
// body router, which reads them): a client's own priority, objective and
// fairness id never reach the router; a valid token's claims do, its own
// class whatever the client sent.
func schedulingProblems(t *testing.T, l *listener.Listener, h *hcm.HttpConnectionManager) []string {
	client := map[string]string{mesh.ObjectiveHeader: "premium", mesh.FairnessHeader: "me-first", "x-gateway-destination-endpoint": "10.0.0.9:8000",
		"x-gateway-model-name-rewrite": "sql", mesh.ModelHeader: "support"}
	var problems []string
	for _, tc := range []struct {
		what   string
		claims map[string]string // nil: no token
		want   map[string]string
	}{
		{"no token", nil, map[string]string{}},
		{"a batch token", map[string]string{"tier": "batch", "sub": "team-a"}, map[string]string{mesh.ObjectiveHeader: "batch", mesh.FairnessHeader: "team-a"}},
	} {
		got := throughFilters(t, h, client, tc.claims)
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			problems = append(problems, fmt.Sprintf("%s: a client sending %v with %s reaches the body router with %v, want %v", l.Name, client, tc.what, got, tc.want))
		}
	}
	return problems
}

// throughFilters is what of headers reaches the body router, after the
// chain's header mutations and JWT filter (claims: a valid token's; nil:
// none).
func throughFilters(t *testing.T, h *hcm.HttpConnectionManager, headers, claims map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range headers {
		out[k] = v
	}
	for _, f := range h.HttpFilters {
		switch {
		case f.Name == "envoy.filters.http.ext_proc.bbr":
			return out
		case strings.HasPrefix(f.Name, "envoy.filters.http.header_mutation"):
			m := &headermutation.HeaderMutation{}
			if err := f.GetTypedConfig().UnmarshalTo(m); err != nil {
				t.Fatal(err)
			}
			for _, r := range m.GetMutations().GetRequestMutations() {
				delete(out, r.GetRemove())
			}
		case f.Name == "envoy.filters.http.jwt_authn" && claims != nil:
			j := &jwtfilter.JwtAuthentication{}
			if err := f.GetTypedConfig().UnmarshalTo(j); err != nil {
				t.Fatal(err)
			}
			for _, p := range j.GetProviders() {
				for _, c := range p.GetClaimToHeaders() {
					if v, ok := claims[c.GetClaimName()]; ok {
						out[c.GetHeaderName()] = v
					}
				}
			}
		}
	}
	return out
}
