package conformance

import (
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/mlmesh/mlmesh/egress"
	"github.com/mlmesh/mlmesh/ingress"
	"github.com/mlmesh/mlmesh/internal/scenarios"
	"github.com/mlmesh/mlmesh/mesh"
	"github.com/mlmesh/mlmesh/routing"
	"github.com/mlmesh/mlmesh/serving"
)

// The fuzz targets turn the fuzzer's bytes into Apps: the first byte picks
// a template (a seed scenario, or an App with every part), each following
// pair of bytes picks a mutation and a value from its menu. The menus hold
// the values a user could plausibly write, the edge cases of Istio's
// validation among them (sub-millisecond durations, 64-character labels,
// numeric top-level domains, TLS without files, tiny percentages, TCP
// egress, overlapping hosts and prefixes, shared certificates), so that the
// fuzzer can compose what no single test thought of.

// fuzzBytes reads the fuzzer's bytes; past their end it reads zeros.
type fuzzBytes struct {
	b []byte
	i int
}

func (f *fuzzBytes) next() int {
	if f.i >= len(f.b) {
		f.i++
		return 0
	}
	f.i++
	return int(f.b[f.i-1])
}

func (f *fuzzBytes) done() bool { return f.i >= len(f.b) }

// pick returns one of xs, chosen by the next byte.
func pick[T any](f *fuzzBytes, xs ...T) T { return xs[f.next()%len(xs)] }

var (
	longLabel = strings.Repeat("l", 64)
	fuzzHosts = []string{"models.example.com", "a.example.com", "*.example.com", "*", "models", longLabel + ".example.com",
		"a.example.123", "api.example.org", "x.y.svc.cluster.local", "b.a.example.com"}
	fuzzDurations = []time.Duration{0, time.Millisecond, 1500 * time.Microsecond, 10 * time.Second, 999 * time.Microsecond, 2*time.Second + time.Nanosecond, 250 * time.Millisecond}
	fuzzPercents  = []float64{0, 1e-9, 0.0001, 1, 10, 50, 100, 150}
)

// fuzzTemplates are the Apps mutations start from.
func fuzzTemplates() []mesh.App {
	out := []mesh.App{fullApp()}
	for _, name := range []string{"tfserving-canary", "smart-canary", "multi-model", "algorithm-selector", "kubeflow-inception", "pulumi-canary", "secure-model", "llm"} {
		out = append(out, scenarios.ByName[name](false, ""))
	}
	return out
}

// fullApp has a part of every kind: gateways, egress, two models (one
// exposed), a front route.
func fullApp() mesh.App {
	return mesh.App{
		Namespace: mesh.Namespace{Name: "fuzz", MTLS: mesh.MTLSStrict},
		Gateways: []ingress.Spec{{Name: "gw", Servers: []ingress.Server{
			{Port: 80, Hosts: []string{"models.example.com", "front.example.com"}},
			{Port: 443, Protocol: ingress.HTTPS, Hosts: []string{"models.example.com"}, TLS: &ingress.ServerTLS{Mode: ingress.TLSSimple, CredentialName: "models-cert"}},
		}}},
		Egress: []egress.Spec{egress.S3("store", "", "eu-west-1"), {Name: "registry", Hosts: []string{"registry.example.com"}, Ports: egress.OriginateTLS(), ExportTo: []string{"."}}},
		Models: []mesh.Model{
			{
				Model: serving.Model{Name: "ranker", Versions: []serving.Version{{Name: "v1", ModelURI: "s3://m/ranker/1"}, {Name: "v2", ModelURI: "s3://m/ranker/2"}}},
				Traffic: mesh.Traffic{Rules: []routing.Rule{
					{Match: []routing.Match{{Headers: map[string]routing.StringMatch{"x-canary": routing.Exact("yes")}}}, Split: []routing.Destination{{Subset: "v2"}}},
					{Split: routing.SplitOf(map[string]int32{"v1": 90, "v2": 10}), Timeout: 10 * time.Second},
				}},
				Expose: &mesh.Expose{Gateway: "gw", Hosts: []string{"models.example.com"}},
			},
			{
				Model:   serving.Model{Name: "bert", Runtime: serving.Triton(), Versions: []serving.Version{{Name: "v1", ModelURI: "s3://m/bert/1"}}},
				Traffic: mesh.Traffic{Policy: &routing.TrafficPolicy{TLS: routing.TLSIstioMutual}},
			},
		},
		Routes: []mesh.Route{{Name: "front", Gateway: "gw", Hosts: []string{"front.example.com"}, Rules: []routing.Rule{
			{Match: []routing.Match{{Headers: map[string]routing.StringMatch{"x-model": routing.Exact("bert")}}}, Split: []routing.Destination{{Host: "bert"}}},
			{Split: []routing.Destination{{Host: "ranker"}}},
		}}},
	}
}

// fuzzApp returns the App the bytes describe.
func fuzzApp(data []byte) mesh.App {
	f := &fuzzBytes{b: data}
	templates := fuzzTemplates()
	a := templates[f.next()%len(templates)]
	for n := 0; n < 12 && !f.done(); n++ {
		mutations[f.next()%len(mutations)](&a, f)
	}
	return a
}

// someModel, rule and gateway return an element to mutate, adding one when
// there is none.
func someModel(a *mesh.App, f *fuzzBytes) *mesh.Model {
	return &a.Models[f.next()%len(a.Models)]
}

func rule(a *mesh.App, f *fuzzBytes) *routing.Rule {
	m := someModel(a, f)
	if len(m.Traffic.Rules) == 0 {
		m.Traffic.Rules = []routing.Rule{{Split: []routing.Destination{{Subset: m.Versions[0].Name}}}}
	}
	return &m.Traffic.Rules[f.next()%len(m.Traffic.Rules)]
}

func gateway(a *mesh.App, f *fuzzBytes) *ingress.Spec {
	if len(a.Gateways) == 0 {
		a.Gateways = []ingress.Spec{{Name: "gw", Servers: []ingress.Server{{Port: 80, Hosts: []string{"models.example.com"}}}}}
	}
	return &a.Gateways[f.next()%len(a.Gateways)]
}

func egressSpec(a *mesh.App, f *fuzzBytes) *egress.Spec {
	if len(a.Egress) == 0 {
		a.Egress = []egress.Spec{egress.API("api", "", "api.example.org")}
	}
	return &a.Egress[f.next()%len(a.Egress)]
}

// Mutations copy the slices they change: templates share them.
var mutations = []func(a *mesh.App, f *fuzzBytes){
	func(a *mesh.App, f *fuzzBytes) { a.Namespace.Name = pick(f, "ml", "fuzz", "ML", "", "a-"+longLabel) },
	func(a *mesh.App, f *fuzzBytes) {
		a.Namespace.Injection = pick(f, mesh.InjectNamespace, mesh.InjectPods, mesh.InjectNone, "sometimes")
	},
	func(a *mesh.App, f *fuzzBytes) {
		a.Namespace.MTLS = pick(f, mesh.MTLSUnset, mesh.MTLSStrict, mesh.MTLSPermissive, "ON")
	},
	func(a *mesh.App, f *fuzzBytes) {
		a.Namespace.Existing = f.next()%2 == 0
		a.Namespace.Labels = pick(f, map[string]string(nil), map[string]string{"team": "search"}, map[string]string{"istio-injection": "disabled"}, map[string]string{"bad key!": "x"})
	},
	// Gateways.
	func(a *mesh.App, f *fuzzBytes) {
		g := gateway(a, f)
		g.Servers = append([]ingress.Server(nil), g.Servers...)
		s := &g.Servers[f.next()%len(g.Servers)]
		s.Hosts = append(append([]string(nil), s.Hosts...), pick(f, fuzzHosts...))
	},
	func(a *mesh.App, f *fuzzBytes) {
		g := gateway(a, f)
		g.Servers = append([]ingress.Server(nil), g.Servers...)
		s := &g.Servers[f.next()%len(g.Servers)]
		s.Hosts = []string{pick(f, fuzzHosts...)}
	},
	func(a *mesh.App, f *fuzzBytes) {
		g := gateway(a, f)
		g.Servers = append(append([]ingress.Server(nil), g.Servers...), ingress.Server{
			Port: pick[uint32](f, 443, 8443, 31400, 80, 0, 70000), Protocol: pick(f, ingress.HTTPS, ingress.HTTP, ingress.TLS, ingress.GRPC, ingress.TCP, ""),
			Hosts: []string{pick(f, fuzzHosts...)},
			TLS: pick(f, nil, &ingress.ServerTLS{Mode: ingress.TLSSimple, CredentialName: "models-cert"}, &ingress.ServerTLS{Mode: ingress.TLSSimple, CredentialName: "other-cert"},
				&ingress.ServerTLS{Mode: ingress.TLSMutual, CredentialName: "mtls-cert"}, &ingress.ServerTLS{Mode: ingress.TLSPassthrough}, &ingress.ServerTLS{Mode: ingress.TLSSimple}),
			HTTPSRedirect: f.next()%4 == 0,
		})
	},
	func(a *mesh.App, f *fuzzBytes) {
		a.Gateways = append(append([]ingress.Spec(nil), a.Gateways...), ingress.Spec{
			Name:     pick(f, "gw2", "gw", "public"),
			Selector: pick(f, map[string]string(nil), map[string]string{"istio": "ingressgateway"}, map[string]string{"app": "public-gateway"}),
			Servers: []ingress.Server{{Port: 443, Protocol: ingress.HTTPS, Hosts: []string{pick(f, fuzzHosts...)},
				TLS: &ingress.ServerTLS{Mode: ingress.TLSSimple, CredentialName: pick(f, "models-cert", "public-cert")}}},
		})
	},
	// Egress.
	func(a *mesh.App, f *fuzzBytes) {
		e := egressSpec(a, f)
		e.Hosts = append(append([]string(nil), e.Hosts...), pick(f, fuzzHosts...))
	},
	func(a *mesh.App, f *fuzzBytes) {
		e := egressSpec(a, f)
		e.Ports = pick(f, nil, []egress.Port{{Number: 443, Protocol: egress.TLS}}, egress.OriginateTLS(), []egress.Port{{Number: 5432, Protocol: egress.TCP}},
			[]egress.Port{{Number: 8080, OriginateTLS: true, TargetPort: 8443}}, []egress.Port{{Number: 80, Protocol: egress.HTTP}}, []egress.Port{{Number: 443, Protocol: egress.HTTPS}},
			[]egress.Port{{Number: 443, Protocol: egress.TLS}, {Number: 443, Protocol: egress.HTTPS}})
	},
	func(a *mesh.App, f *fuzzBytes) {
		e := egressSpec(a, f)
		e.Resolution = pick(f, egress.Resolution(""), egress.DNS, egress.None, "STATIC")
		e.Addresses = pick(f, []string(nil), []string{"192.0.2.10"}, []string{"192.0.2.0/24"}, []string{"not-an-ip"}, []string{"2001:db8::1"})
	},
	func(a *mesh.App, f *fuzzBytes) {
		e := egressSpec(a, f)
		e.ExportTo = pick(f, []string(nil), []string{"."}, []string{".", a.Namespace.Name}, []string{"*"}, []string{"other"}, []string{"*", "."})
		e.CACertificates = pick(f, "", "/etc/ssl/custom.pem", "relative.pem")
	},
	func(a *mesh.App, f *fuzzBytes) {
		e := egressSpec(a, f)
		n := pick(f, 2, 40, 257)
		e.Hosts = nil
		for i := range n {
			e.Hosts = append(e.Hosts, fmt.Sprintf("h%d.example.com", i))
		}
	},
	// Models and versions.
	func(a *mesh.App, f *fuzzBytes) {
		m := someModel(a, f)
		m.Runtime = pick(f, serving.TFServing(), serving.Triton(), serving.TorchServe(), serving.OpenInference("seldonio/mlserver:1.6.1"),
			serving.Custom("ghcr.io/example/model:1", serving.Port{Number: 8080, Protocol: serving.HTTP}),
			serving.Custom("ghcr.io/example/model:1", serving.Port{Number: 8080, Protocol: serving.HTTP}, serving.Port{Number: 9000, Protocol: serving.GRPC}, serving.Port{Number: 9100, Protocol: serving.TCP}))
	},
	func(a *mesh.App, f *fuzzBytes) {
		m := someModel(a, f)
		m.Versions = append([]serving.Version(nil), m.Versions...)
		v := &m.Versions[f.next()%len(m.Versions)]
		v.ModelURI = pick(f, "s3://m/1", "gs://bucket/model", "s3://m/\ufffe", "", "pvc://models/x", "s3://m/"+strings.Repeat("p", 300))
	},
	func(a *mesh.App, f *fuzzBytes) {
		m := someModel(a, f)
		m.Versions = append(append([]serving.Version(nil), m.Versions...), serving.Version{Name: pick(f, "v3", "v1", "V4", "canary"), ModelURI: "s3://m/3"})
	},
	func(a *mesh.App, f *fuzzBytes) {
		m := someModel(a, f)
		m.Versions = append([]serving.Version(nil), m.Versions...)
		v := &m.Versions[f.next()%len(m.Versions)]
		v.Resources = pick(f, corev1.ResourceRequirements{},
			corev1.ResourceRequirements{Requests: corev1.ResourceList{"cpu": resource.MustParse("1"), "memory": resource.MustParse("2Gi")}},
			corev1.ResourceRequirements{Requests: corev1.ResourceList{"cpu": resource.MustParse("2")}, Limits: corev1.ResourceList{"cpu": resource.MustParse("1")}},
			corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceName(strings.Repeat("r", 400)): resource.MustParse("1")}},
			corev1.ResourceRequirements{Limits: corev1.ResourceList{"example.com/fpga": resource.MustParse("1")}})
		v.GPUs = pick[int64](f, 0, 1, 2, -1)
		v.Replicas = pick(f, (*int32)(nil), ptr[int32](0), ptr[int32](3), ptr[int32](-1))
	},
	func(a *mesh.App, f *fuzzBytes) {
		m := someModel(a, f)
		m.Labels = pick(f, map[string]string(nil), map[string]string{"team": "search"}, map[string]string{"app": "x"}, map[string]string{strings.Repeat("k", 70): "v"}, map[string]string{"team": "bad value"})
	},
	func(a *mesh.App, f *fuzzBytes) {
		m := someModel(a, f)
		m.Versions = append([]serving.Version(nil), m.Versions...)
		v := &m.Versions[f.next()%len(m.Versions)]
		v.NodeSelector = pick(f, map[string]string(nil), map[string]string{"nvidia.com/gpu.present": "true"}, map[string]string{"bad key!": "x"})
		v.Env = pick(f, []corev1.EnvVar(nil), []corev1.EnvVar{{Name: "LOG_LEVEL", Value: "debug"}}, []corev1.EnvVar{{Name: "1BAD"}}, []corev1.EnvVar{{Name: "A"}, {Name: "A"}})
	},
	// Traffic.
	func(a *mesh.App, f *fuzzBytes) {
		someModel(a, f).Traffic.Port = pick[uint32](f, 0, 8501, 8500, 8000, 8080, 9999)
	},
	func(a *mesh.App, f *fuzzBytes) {
		m := someModel(a, f)
		m.Traffic.Policy = pick(f, nil, &routing.TrafficPolicy{}, &routing.TrafficPolicy{TLS: routing.TLSIstioMutual}, &routing.TrafficPolicy{TLS: routing.TLSSimple},
			&routing.TrafficPolicy{TLS: routing.TLSSimple, CACertificates: "/etc/certs/ca.pem", SNI: "models.example.com"},
			&routing.TrafficPolicy{TLS: routing.TLSMutual, CACertificates: "/etc/certs/ca.pem", ClientCertificate: "/etc/certs/cert.pem", PrivateKey: "/etc/certs/key.pem"},
			&routing.TrafficPolicy{TLS: routing.TLSMutual},
			&routing.TrafficPolicy{ConnectionPool: &routing.ConnectionPool{}},
			&routing.TrafficPolicy{ConnectionPool: &routing.ConnectionPool{MaxConnections: 10, ConnectTimeout: pick(f, fuzzDurations...), IdleTimeout: pick(f, fuzzDurations...)}},
			&routing.TrafficPolicy{OutlierDetection: &routing.OutlierDetection{Consecutive5xxErrors: 5, Interval: pick(f, fuzzDurations...), BaseEjectionTime: pick(f, fuzzDurations...), MaxEjectionPercent: pick[int32](f, 0, 50, 100, 120)}},
			&routing.TrafficPolicy{LoadBalancer: &routing.LoadBalancer{Simple: pick(f, routing.LeastRequest, routing.RoundRobin, routing.Random)}},
			&routing.TrafficPolicy{LoadBalancer: &routing.LoadBalancer{HashHeader: pick(f, "x-user", "X User")}},
			&routing.TrafficPolicy{LoadBalancer: &routing.LoadBalancer{HashCookie: &routing.Cookie{Name: "session", TTL: pick(f, fuzzDurations...)}}})
	},
	func(a *mesh.App, f *fuzzBytes) {
		r := rule(a, f)
		r.Match = append(append([]routing.Match(nil), r.Match...), fuzzMatch(f))
	},
	func(a *mesh.App, f *fuzzBytes) {
		m := someModel(a, f)
		m.Traffic.Rules = append([]routing.Rule{{Match: []routing.Match{fuzzMatch(f)}, Split: []routing.Destination{{Subset: m.Versions[f.next()%len(m.Versions)].Name}}}}, m.Traffic.Rules...)
	},
	func(a *mesh.App, f *fuzzBytes) {
		r := rule(a, f)
		r.Timeout = pick(f, fuzzDurations...)
		r.Retries = pick(f, nil, &routing.Retries{}, &routing.Retries{Attempts: 1, PerTryTimeout: pick(f, fuzzDurations...)},
			&routing.Retries{Attempts: 2, RetryOn: []string{pick(f, "5xx", "599", "503", "connect-failure", "reset,5xx", "418")}})
	},
	func(a *mesh.App, f *fuzzBytes) {
		r := rule(a, f)
		r.Fault = pick(f, nil, &routing.Fault{}, &routing.Fault{Delay: &routing.Delay{Fixed: pick(f, fuzzDurations...), Percent: pick(f, fuzzPercents...)}},
			&routing.Fault{Abort: &routing.Abort{HTTPStatus: pick[int32](f, 503, 500, 99, 600), Percent: pick(f, fuzzPercents...)}},
			&routing.Fault{Abort: &routing.Abort{GRPCStatus: pick(f, "UNAVAILABLE", "unavailable"), Percent: 100}})
	},
	func(a *mesh.App, f *fuzzBytes) {
		m := someModel(a, f)
		r := rule(a, f)
		r.Mirror = []routing.Mirror{{Subset: m.Versions[f.next()%len(m.Versions)].Name, Percent: pick(f, fuzzPercents...)}}
	},
	func(a *mesh.App, f *fuzzBytes) {
		m := someModel(a, f)
		r := rule(a, f)
		n := len(m.Versions)
		if n == 1 {
			r.Split = []routing.Destination{{Subset: m.Versions[0].Name, Weight: pick[int32](f, 0, 100, 50)}}
			return
		}
		w := pick[int32](f, 0, 10, 30, 50, 90, 100)
		r.Split = []routing.Destination{{Subset: m.Versions[0].Name, Weight: 100 - w}, {Subset: m.Versions[n-1].Name, Weight: pick(f, w, w+5)}}
	},
	// Exposure and front routes.
	func(a *mesh.App, f *fuzzBytes) {
		m := someModel(a, f)
		g := gateway(a, f)
		m.Expose = pick(f, nil, &mesh.Expose{Gateway: g.Name}, &mesh.Expose{Gateway: g.Name, Hosts: []string{pick(f, fuzzHosts...)}},
			&mesh.Expose{Gateway: g.Name, Hosts: []string{pick(f, fuzzHosts...), pick(f, fuzzHosts...)}}, &mesh.Expose{Gateway: g.Name, Port: pick[uint32](f, 8501, 8500, 9999)}, &mesh.Expose{})
	},
	func(a *mesh.App, f *fuzzBytes) {
		g := gateway(a, f)
		m := someModel(a, f)
		a.Routes = append(append([]mesh.Route(nil), a.Routes...), mesh.Route{
			Name: pick(f, "front2", "front", "Front"), Gateway: g.Name, Hosts: []string{pick(f, fuzzHosts...)}, Port: pick[uint32](f, 0, 8501, 70000),
			Rules: []routing.Rule{{Match: []routing.Match{fuzzMatch(f)}, Split: []routing.Destination{{Host: m.Name}}}, {Split: []routing.Destination{{Host: pick(f, m.Name, "api.example.org", "nowhere")}}}},
		})
	},
}

func ptr[T any](v T) *T { return &v }

func fuzzMatch(f *fuzzBytes) routing.Match {
	switch f.next() % 4 {
	case 0:
		return routing.Match{URI: &routing.StringMatch{Kind: routing.MatchPrefix, Value: pick(f, "/v1", "/v1/models", "/predict", "/", "v1", "/v2/models/")}}
	case 1:
		return routing.Match{URI: &routing.StringMatch{Kind: pick(f, routing.MatchExact, routing.MatchRegex), Value: pick(f, "/v1/models/x:predict", "/v1/.*", "[a-")}}
	case 2:
		return routing.Match{Port: pick[uint32](f, 8501, 8500, 70000)}
	}
	value := pick(f, routing.Exact("v2"), routing.Prefix("Mozilla"), routing.Regex(".*chrome.*"), routing.Regex(strings.Repeat("a", 1025)), routing.Regex("(?=x)"), routing.Exact(""))
	return routing.Match{Headers: map[string]routing.StringMatch{pick(f, "x-model-version", "user-agent", "X-Upper", "x header", strings.Repeat("h", 1100)): value}}
}

// The menus added since, in the order they came (issues 13, 14, 15), so
// that the inputs kept in testdata keep their meaning: each appends. In
// the Gateway API dialect, what mlmesh accepts must pass the Gateway API's
// CRD schemas and CEL rules and Istio's analyzers.
func init() {
	mutations = append(mutations, securityMutation, workloadMutation, func(a *mesh.App, f *fuzzBytes) {
		a.API = pick(f, mesh.IstioAPI, mesh.GatewayAPI, mesh.GatewayAPI, "gamma")
	}, ambientMutation, inferenceMutation, headersMutation)
}

// headersMutation changes headers on a rule, with names and values at
// times invalid, upper-case, repeated or over the Gateway API's limits.
func headersMutation(a *mesh.App, f *fuzzBytes) {
	r := rule(a, f)
	name := func() string {
		return pick(f, "x-model", "x-tenant", "X-Upper", "host", ":path", "x header", strings.Repeat("h", 300), "cookie")
	}
	ops := routing.HeaderOps{
		Set:    map[string]string{name(): pick(f, "a", "100%", "a\nb", "", strings.Repeat("v", 5000))},
		Add:    map[string]string{name(): pick(f, "1", "%HOSTNAME%")},
		Remove: []string{name()},
	}
	r.Headers = pick(f, nil, &routing.HeaderChanges{Request: ops}, &routing.HeaderChanges{Response: ops}, &routing.HeaderChanges{Request: ops, Response: ops})
}

// inferenceMutation gives a model InferencePools, with a picker per
// version, at times one missing, invalid or of no version.
func inferenceMutation(a *mesh.App, f *fuzzBytes) {
	m := someModel(a, f)
	pickers := map[string]serving.EndpointPicker{}
	for _, v := range m.Versions {
		pickers[v.Name] = serving.EndpointPicker{Service: m.Name + "-" + v.Name + "-epp", Port: pick[int32](f, 0, 0, 9002, 70000), FailOpen: pick(f, false, true)}
	}
	switch f.next() % 4 {
	case 0:
		pickers["v9"] = serving.EndpointPicker{Service: "epp"}
	case 1:
		for k := range pickers {
			pickers[k] = serving.EndpointPicker{Service: pick(f, "", "Epp", "e.pp")}
			break
		}
	}
	m.Inference = pick(f, nil, &mesh.Inference{Pickers: pickers}, &mesh.Inference{Pickers: pickers}, &mesh.Inference{})
	if pick(f, true, true, false) && len(m.Versions) > 0 {
		// What pools need, mostly: the Gateway API dialect, a gateway
		// route to the model, and one pool per rule.
		a.API = mesh.GatewayAPI
		m.Expose = &mesh.Expose{Gateway: gateway(a, f).Name}
		m.Traffic.Rules = []routing.Rule{{Split: []routing.Destination{{Subset: m.Versions[len(m.Versions)-1].Name}}}}
	}
}

// ambientMutation puts the App in an ambient namespace, mostly in the
// Gateway API dialect it needs, with the waypoint's name at times set,
// clashing or invalid.
func ambientMutation(a *mesh.App, f *fuzzBytes) {
	a.Namespace.Injection = pick(f, mesh.InjectAmbient, mesh.InjectAmbient, a.Namespace.Injection)
	if a.Namespace.Injection == mesh.InjectAmbient {
		a.API = pick(f, mesh.GatewayAPI, mesh.GatewayAPI, mesh.GatewayAPI, a.API)
		a.Namespace.ScopeSidecars = pick(f, false, false, a.Namespace.ScopeSidecars)
	}
	name := ""
	if len(a.Models) > 0 {
		name = a.Models[0].Name
	}
	a.Namespace.Waypoint = pick(f, "", "", "wp", "Waypoint", name)
}
