package conformance

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/mlmesh/mlmesh/mesh"
	"github.com/mlmesh/mlmesh/render"
	"github.com/mlmesh/mlmesh/routing"
	"github.com/mlmesh/mlmesh/serving"
)

// want is an Envoy route expected on a proxy: in route configuration rc, for
// domain, the route at index idx.
type want struct {
	proxy  string // "sidecar" or "gateway"
	rc     string
	domain string
	idx    int
	route  Route
}

func split(port int, host string, weights ...any) map[string]uint32 {
	m := map[string]uint32{}
	for i := 0; i < len(weights); i += 2 {
		if w := uint32(weights[i+1].(int)); w > 0 {
			m[Cluster(port, weights[i].(string), host)] = w
		}
	}
	return m
}

// What Envoy receives when a rule sets no timeout or retries: no timeout,
// and Istio's default of two retries (costly for inference; see
// routing.Rule.Retries).
const (
	noTimeout      = "0s"
	defaultRetries = "2 on connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes"
)

const (
	vjan   = "vjan-service.vjan.svc.cluster.local"
	algo   = "algo-selector.algorithm-selector.svc.cluster.local"
	incep  = "inception.kubeflow.svc.cluster.local"
	mlm    = "ml-model.ml.svc.cluster.local"
	models = "models.example.com"
	fleet0 = "model-0.models.svc.cluster.local"
	ranker = "ranker.ranking.svc.cluster.local"
	chat   = "chat.llm.svc.cluster.local"
)

// expectations are what each example means, as Envoy must receive it.
var expectations = map[string][]want{
	"tfserving-canary": {
		{"sidecar", "8501", vjan, 0, Route{Match: "prefix=/", Clusters: split(8501, vjan, "v1", 90, "v2", 10), Timeout: noTimeout, Retries: defaultRetries}},
		{"sidecar", "8500", vjan, 0, Route{Match: "prefix=/", Clusters: split(8500, vjan, "v1", 90, "v2", 10), Timeout: noTimeout, Retries: defaultRetries}},
	},
	"smart-canary": {
		{"sidecar", "8501", vjan, 0, Route{Match: "prefix=/ header[user-agent]~.*chrome.*", Clusters: split(8501, vjan, "v2", 100), Timeout: noTimeout, Retries: defaultRetries}},
		{"sidecar", "8501", vjan, 1, Route{Match: "prefix=/", Clusters: split(8501, vjan, "v1", 100), Timeout: noTimeout, Retries: defaultRetries}},
		{"sidecar", "8500", vjan, 0, Route{Match: "prefix=/ header[user-agent]~.*chrome.*", Clusters: split(8500, vjan, "v2", 100), Timeout: noTimeout, Retries: defaultRetries}},
	},
	// The gateway Service maps port 80 to 8080, and Istio names a gateway's
	// route configuration after the target port.
	"multi-model": {
		{"gateway", "http.8080", models, 0, Route{Match: "prefix=/ header[x-model]=inception", Clusters: split(8501, "inception.models.svc.cluster.local", "v1", 100), Timeout: noTimeout, Retries: defaultRetries}},
		{"gateway", "http.8080", models, 1, Route{Match: "prefix=/ header[x-model]=mobilenet", Clusters: split(8501, "mobilenet.models.svc.cluster.local", "v1", 100), Timeout: noTimeout, Retries: defaultRetries}},
		{"gateway", "http.8080", models, 2, Route{Match: "prefix=/ header[x-model]=resnet", Clusters: split(8501, "resnet.models.svc.cluster.local", "v1", 100), Timeout: noTimeout, Retries: defaultRetries}},
	},
	"algorithm-selector": {
		{"sidecar", "8501", algo, 0, Route{Match: "prefix=/", Clusters: split(8501, algo, "v1", 70, "v2", 30), Timeout: "10s", Retries: "1 on connect-failure,refused-stream"}},
		{"sidecar", "8500", algo, 0, Route{Match: "prefix=/", Clusters: split(8500, algo, "v1", 70, "v2", 30), Timeout: "10s", Retries: "1 on connect-failure,refused-stream"}},
		{"gateway", "http.31400", "*", 0, Route{Match: "prefix=/", Clusters: split(8501, algo, "v1", 70, "v2", 30), Timeout: "10s", Retries: "1 on connect-failure,refused-stream"}},
	},
	"algorithm-selector-promoted": {
		{"sidecar", "8501", algo, 0, Route{Match: "prefix=/", Clusters: split(8501, algo, "v1", 0, "v2", 100), Timeout: "10s", Retries: "1 on connect-failure,refused-stream"}},
		{"gateway", "http.31400", "*", 0, Route{Match: "prefix=/", Clusters: split(8501, algo, "v1", 0, "v2", 100), Timeout: "10s", Retries: "1 on connect-failure,refused-stream"}},
	},
	"kubeflow-inception": {
		{"sidecar", "8501", incep, 0, Route{Match: "prefix=/", Clusters: split(8501, incep, "v1", 95, "v2", 5), Timeout: noTimeout, Retries: defaultRetries}},
		{"sidecar", "8500", incep, 0, Route{Match: "prefix=/", Clusters: split(8500, incep, "v1", 95, "v2", 5), Timeout: noTimeout, Retries: defaultRetries}},
	},
	// The fleet pins routes to 8501 and binds one VirtualService to the mesh
	// and the gateway (see mesh.Expose).
	"fleet": {
		{"sidecar", "8501", fleet0, 0, Route{Match: "prefix=/ header[x-model-version]=v2", Clusters: split(8501, fleet0, "v2", 100), Timeout: noTimeout, Retries: defaultRetries}},
		{"sidecar", "8501", fleet0, 1, Route{Match: "prefix=/", Clusters: split(8501, fleet0, "v1", 90, "v2", 10), Timeout: noTimeout, Retries: defaultRetries}},
		{"sidecar", "8500", fleet0, 1, Route{Match: "prefix=/", Clusters: split(8501, fleet0, "v1", 90, "v2", 10), Timeout: noTimeout, Retries: defaultRetries}},
		{"gateway", "http.8080", fleet0, 1, Route{Match: "prefix=/", Clusters: split(8501, fleet0, "v1", 90, "v2", 10), Timeout: noTimeout, Retries: defaultRetries}},
	},
	// The gateway serves the ranker's host on 443 (8443 in its pods); its
	// port 80 only redirects.
	"secure-model": {
		{"sidecar", "8501", ranker, 0, Route{Match: "prefix=/", Clusters: split(8501, ranker, "v1", 100), Timeout: noTimeout, Retries: defaultRetries}},
		{"sidecar", "8500", ranker, 0, Route{Match: "prefix=/", Clusters: split(8500, ranker, "v1", 100), Timeout: noTimeout, Retries: defaultRetries}},
		{"gateway", "https.443.https-443.ranking-gateway.ranking", "ranker.example.com", 0, Route{Match: "prefix=/", Clusters: split(8501, ranker, "v1", 100), Timeout: noTimeout, Retries: defaultRetries}},
	},
	// A long timeout and no retry policy at all, in the mesh and on the
	// gateway.
	"llm": {
		{"sidecar", "8000", chat, 0, Route{Match: "prefix=/", Clusters: split(8000, chat, "v1", 90, "v2", 10), Timeout: "5m0s", Retries: ""}},
		{"gateway", "https.443.https-443.llm-gateway.llm", "chat.example.com", 0, Route{Match: "prefix=/", Clusters: split(8000, chat, "v1", 90, "v2", 10), Timeout: "5m0s", Retries: ""}},
	},
	// The endpoint's models inside the mesh, Gateway API routes to each
	// version's Service (its gateway's routes by model name are
	// TestLLMEndpointGateway's).
	"llm-endpoint": {
		{"sidecar", "8000", chat, 0, Route{Match: "prefix=/", Clusters: map[string]uint32{
			"outbound|8000||chat-v1.llm.svc.cluster.local": 90, "outbound|8000||chat-v2.llm.svc.cluster.local": 10}, Timeout: "5m0s", Retries: defaultRetries}},
		{"sidecar", "8000", "qwen.llm.svc.cluster.local", 0, Route{Match: "prefix=/", Clusters: map[string]uint32{
			"outbound|8000||qwen-v1.llm.svc.cluster.local": 100}, Timeout: "5m0s", Retries: defaultRetries}},
	},
	"pulumi-canary": {
		{"sidecar", "8080", mlm, 0, Route{Match: "prefix=/", Clusters: split(8080, mlm, "v1", 90, "v2", 10), Timeout: noTimeout, Retries: defaultRetries}},
		{"sidecar", "8081", mlm, 0, Route{Match: "prefix=/", Clusters: split(8081, mlm, "v1", 90, "v2", 10), Timeout: noTimeout, Retries: defaultRetries}},
	},
}

// The steps of examples/progressive: algorithm-selector's routes with the
// plan's weights, on both ports and on the gateway; after retirement v1 has
// no cluster at all.
func init() {
	for step, v2 := range map[string]int{"00-baseline": 0, "01-canary-10": 10, "02-canary-30": 30, "03-canary-50": 50, "04-promoted": 100, "05-retired": 100} {
		weights := []any{"v1", 100 - v2, "v2", v2}
		if step == "05-retired" {
			weights = []any{"v2", 100}
		}
		r := func(port int) Route {
			return Route{Match: "prefix=/", Clusters: split(port, algo, weights...), Timeout: "10s", Retries: "1 on connect-failure,refused-stream"}
		}
		expectations["progressive-"+step] = []want{
			{"sidecar", "8501", algo, 0, r(8501)},
			{"sidecar", "8500", algo, 0, r(8500)},
			{"gateway", "http.31400", "*", 0, r(8501)},
		}
	}
}

// TestEnvoyRoutesExamples feeds each example to Istio's config generator and
// checks the routes a sidecar in the namespace, and the ingress gateway where
// one is bound, receive: a 90/10 canary must be a 90/10 canary.
func TestEnvoyRoutesExamples(t *testing.T) {
	bundles, err := ExampleBundles()
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, b := range bundles {
		if dialectBase(b.Name) != b.Name {
			continue // held to the Istio dialect's routes by TestGatewayAPIEquivalence and TestAmbientEquivalence
		}
		t.Run(b.Name, func(t *testing.T) {
			wants, ok := expectations[b.Name]
			if !ok {
				t.Fatalf("no Envoy expectations for example %s", b.Name)
			}
			ns := b.Namespace()
			gateway := len(istioObjects(b, "Gateway")) > 0
			sidecar, gw, err := EnvoyRoutes(t, b, ns, gateway)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range compareRoutes(sidecar, gw, wants) {
				t.Error(p)
			}
			checked += len(wants)
		})
	}
	t.Logf("Envoy routes: %d expectations checked", checked)
}

// compareRoutes returns a line per expectation the route tables do not meet.
func compareRoutes(sidecar, gw RouteTable, wants []want) []string {
	var problems []string
	for _, w := range wants {
		tbl := sidecar
		if w.proxy == "gateway" {
			tbl = gw
		}
		routes, ok := tbl[w.rc][w.domain]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("%s: no virtual host %q in route configuration %q; have: %s", w.proxy, w.domain, w.rc, describeTable(tbl)))
		case w.idx >= len(routes):
			problems = append(problems, fmt.Sprintf("%s %s %s: %d routes, want route %d", w.proxy, w.rc, w.domain, len(routes), w.idx))
		default:
			if got := routes[w.idx]; fmt.Sprint(got) != fmt.Sprint(w.route) {
				problems = append(problems, fmt.Sprintf("%s %s %s route %d:\n got  %+v\n want %+v", w.proxy, w.rc, w.domain, w.idx, got, w.route))
			}
		}
	}
	return problems
}

func describeTable(t RouteTable) string {
	var out []string
	for rc, hosts := range t {
		for d := range hosts {
			out = append(out, rc+":"+d)
		}
	}
	sort.Strings(out)
	if len(out) > 30 {
		out = append(out[:30], "...")
	}
	return strings.Join(out, ", ")
}

// TestEnvoyRetriesOff proves what routing.Rule.Retries documents: nil keeps
// Istio's two retries, &Retries{} (attempts: 0) leaves Envoy no retry policy.
func TestEnvoyRetriesOff(t *testing.T) {
	for _, tc := range []struct {
		retries *routing.Retries
		want    string
	}{
		{nil, defaultRetries},
		{&routing.Retries{}, ""},
		{&routing.Retries{Attempts: 3, RetryOn: []string{"connect-failure"}}, "3 on connect-failure"},
	} {
		objs, err := mesh.Build(mesh.App{
			Namespace: mesh.Namespace{Name: "retries"},
			Models: []mesh.Model{{
				Model:   serving.Model{Name: "m", Versions: []serving.Version{{Name: "v1", ModelURI: "s3://m/1"}}},
				Traffic: mesh.Traffic{Port: 8501, Rules: []routing.Rule{{Split: []routing.Destination{{Subset: "v1"}}, Retries: tc.retries}}},
			}},
		})
		if err != nil {
			t.Fatal(err)
		}
		stream, err := render.YAML(objs)
		if err != nil {
			t.Fatal(err)
		}
		b, err := ParseBundle("retries", stream)
		if err != nil {
			t.Fatal(err)
		}
		sidecar, _, err := EnvoyRoutes(t, b, "retries", false)
		if err != nil {
			t.Fatal(err)
		}
		routes := sidecar["8501"]["m.retries.svc.cluster.local"]
		if len(routes) == 0 {
			t.Fatalf("retries %+v: no route", tc.retries)
		}
		if got := routes[0].Retries; got != tc.want {
			t.Errorf("retries %+v: Envoy retry policy %q, want %q", tc.retries, got, tc.want)
		}
	}
}
