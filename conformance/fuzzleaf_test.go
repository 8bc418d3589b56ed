package conformance

import (
	"errors"
	"testing"

	"github.com/mlmesh/mlmesh/egress"
	"github.com/mlmesh/mlmesh/ingress"
	"github.com/mlmesh/mlmesh/internal/fielderr"
	"github.com/mlmesh/mlmesh/render"
	"github.com/mlmesh/mlmesh/routing"
	"github.com/mlmesh/mlmesh/security"
)

// FuzzLeafSpecs holds the leaf packages, used alone as a user who wants
// only a VirtualService uses them, to Istio: a routing.Spec, an egress.Spec,
// an ingress.Spec or a security spec the bytes describe is built by its own
// package; what is
// accepted must pass Istio's validation (warnings included) and the CRD
// schemas with CEL; what is refused must name fields of the spec. (The
// analyzers need a whole App's context: FuzzApp runs them.)
func FuzzLeafSpecs(f *testing.F) {
	for k := range 4 {
		for m := range 8 {
			f.Add([]byte{byte(k), byte(m), 1, 2, 3, 4})
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fb := &fuzzBytes{b: data}
		switch fb.next() % 4 {
		case 0:
			s := fuzzRoutingSpec(fb)
			vs, err1 := routing.VirtualService(s)
			dr, err2 := routing.DestinationRule(s)
			if refusedAtFields(t, s, err1) || refusedAtFields(t, s, err2) {
				return
			}
			checkIstioObjects(t, vs, dr)
		case 1:
			s := fuzzEgressSpec(fb)
			se, err := egress.ServiceEntry(s)
			if refusedAtFields(t, s, err) {
				return
			}
			drs, err := egress.DestinationRules(s)
			if err != nil {
				t.Fatal(err)
			}
			objs := []render.Object{se}
			for _, d := range drs {
				objs = append(objs, d)
			}
			checkIstioObjects(t, objs...)
		case 3:
			checkSecuritySpec(t, fb)
		default:
			s := fuzzIngressSpec(fb)
			gw, err := ingress.Gateway(s)
			if refusedAtFields(t, s, err) {
				return
			}
			checkIstioObjects(t, gw)
		}
	})
}

// refusedAtFields reports whether err refused spec (an App or a leaf
// spec), after checking that it is a ValidationError whose every problem
// names a field of spec.
func refusedAtFields(t *testing.T, spec any, err error) bool {
	t.Helper()
	if err == nil {
		return false
	}
	var ve *fielderr.Error
	if !errors.As(err, &ve) {
		t.Fatalf("not a ValidationError: %v", err)
	}
	for _, fe := range ve.Errors {
		if perr := resolvePath(spec, fe.Field); perr != nil {
			t.Fatalf("the error path %q names no field of the %T (%v): %s", fe.Field, spec, perr, err)
		}
	}
	return true
}

func checkIstioObjects(t *testing.T, objs ...render.Object) {
	t.Helper()
	crds, err := fuzzCRDs()
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		y, err := render.MarshalYAML(o)
		if err != nil {
			t.Fatalf("%s: not rendered: %v", render.Describe(o), err)
		}
		b, err := ParseBundle("leaf", y)
		if err != nil || len(b.Objects) != 1 {
			t.Fatalf("%s does not read back: %v", render.Describe(o), err)
		}
		istioClean(t, crds, b.Objects[0], y)
	}
}

func fuzzRoutingSpec(f *fuzzBytes) routing.Spec {
	s := routing.Spec{
		Name: pick(f, "ranker", "Ranker", "r"), Namespace: pick(f, "", "ml", "ML"),
		Host:    pick(f, "ranker", "ranker.ml.svc.cluster.local", "*.example.com", "models.example.com", "a.example.123", longLabel+".example.com"),
		Subsets: []routing.Subset{{Name: "v1"}, {Name: "v2"}},
		Rules:   []routing.Rule{{Split: routing.SplitOf(map[string]int32{"v1": 90, "v2": 10})}},
	}
	for n := 0; n < 8 && !f.done(); n++ {
		switch f.next() % 12 {
		case 0:
			s.Hosts = append(s.Hosts, pick(f, fuzzHosts...))
		case 1:
			s.Gateways = append(s.Gateways, pick(f, "mesh", "gw", "istio-system/gw", "a/b/c", "Gw"))
		case 2:
			s.Ports = append(s.Ports, pick[uint32](f, 8501, 8500, 0, 70000))
		case 3:
			s.MatchPorts = !s.MatchPorts
			s.GRPCPorts = pick(f, []uint32(nil), []uint32{8500}, []uint32{9})
		case 4:
			s.Rules = append([]routing.Rule{{Match: []routing.Match{fuzzMatch(f)}, Split: []routing.Destination{{Subset: pick(f, "v1", "v2", "v3")}}}}, s.Rules...)
		case 5:
			r := &s.Rules[f.next()%len(s.Rules)]
			r.Timeout = pick(f, fuzzDurations...)
			r.Retries = pick(f, nil, &routing.Retries{}, &routing.Retries{Attempts: 2, RetryOn: []string{pick(f, "5xx", "599", "503")}, PerTryTimeout: pick(f, fuzzDurations...)})
		case 6:
			r := &s.Rules[f.next()%len(s.Rules)]
			r.Fault = pick(f, nil, &routing.Fault{Delay: &routing.Delay{Fixed: pick(f, fuzzDurations...), Percent: pick(f, fuzzPercents...)}},
				&routing.Fault{Abort: &routing.Abort{HTTPStatus: 503, Percent: pick(f, fuzzPercents...)}})
		case 7:
			r := &s.Rules[f.next()%len(s.Rules)]
			r.Mirror = []routing.Mirror{{Subset: pick(f, "v1", "v2"), Host: pick(f, "", "mirror.example.com"), Percent: pick(f, fuzzPercents...)}}
		case 8:
			s.Policy = pick(f, nil, &routing.TrafficPolicy{TLS: routing.TLSSimple, CACertificates: "/etc/ca.pem"}, &routing.TrafficPolicy{TLS: routing.TLSDisable},
				&routing.TrafficPolicy{ConnectionPool: &routing.ConnectionPool{MaxRequests: 5, IdleTimeout: pick(f, fuzzDurations...)}},
				&routing.TrafficPolicy{LoadBalancer: &routing.LoadBalancer{HashCookie: &routing.Cookie{Name: "s", TTL: pick(f, fuzzDurations...)}}})
		case 9:
			s.ExportTo = pick(f, []string(nil), []string{"."}, []string{".", "ml"}, []string{"*"}, []string{"other", "other"})
		case 10:
			s.Subsets = append(s.Subsets, routing.Subset{Name: pick(f, "v3", "v1"), Labels: pick(f, map[string]string(nil), map[string]string{"version": "v3"}, map[string]string{"bad key": "x"})})
		default:
			r := &s.Rules[len(s.Rules)-1]
			w := pick[int32](f, 0, 50, 100, 60)
			r.Split = []routing.Destination{{Subset: "v1", Weight: 100 - w, Host: pick(f, "", "other.example.com")}, {Subset: "v2", Weight: w, Port: pick[uint32](f, 0, 8501)}}
		}
	}
	return s
}

func fuzzEgressSpec(f *fuzzBytes) egress.Spec {
	s := pick(f, egress.S3("store", "", "us-east-1", "bucket"), egress.GCS("gcs", "ml"), egress.API("api", "", "api.example.org"),
		egress.Spec{Name: "db", Hosts: []string{"db.example.com"}, Ports: []egress.Port{{Number: 5432, Protocol: egress.TCP}}, Addresses: []string{"192.0.2.10"}})
	for n := 0; n < 6 && !f.done(); n++ {
		switch f.next() % 6 {
		case 0:
			s.Hosts = append(append([]string(nil), s.Hosts...), pick(f, fuzzHosts...))
		case 1:
			s.Ports = pick(f, []egress.Port(nil), egress.OriginateTLS(), []egress.Port{{Number: 5432, Protocol: egress.TCP}}, []egress.Port{{Number: 8080, OriginateTLS: true, TargetPort: 8443}},
				[]egress.Port{{Number: 443, Protocol: egress.HTTPS}, {Number: 80, Protocol: egress.HTTP}})
		case 2:
			s.Resolution = pick(f, egress.DNS, egress.None, "")
		case 3:
			s.Addresses = pick(f, []string(nil), []string{"192.0.2.10"}, []string{"192.0.2.0/24"}, []string{"2001:db8::/64"})
		case 4:
			s.ExportTo = pick(f, []string(nil), []string{"."}, []string{".", "default"}, []string{"*"})
		default:
			s.Namespace = pick(f, "", "ml", "ML")
			s.CACertificates = pick(f, "", "/etc/ca.pem")
		}
	}
	return s
}

func fuzzIngressSpec(f *fuzzBytes) ingress.Spec {
	s := ingress.Spec{Name: "gw", Servers: []ingress.Server{{Port: 80, Hosts: []string{"models.example.com"}}}}
	for n := 0; n < 6 && !f.done(); n++ {
		switch f.next() % 4 {
		case 0:
			s.Servers[0].Hosts = append(s.Servers[0].Hosts, pick(f, append(fuzzHosts, "ml/models.example.com", "./a.example.com", "*/b.example.com", "ML/c.example.com")...))
		case 1:
			s.Servers = append(s.Servers, ingress.Server{Port: pick[uint32](f, 443, 8443, 80), Protocol: pick(f, ingress.HTTPS, ingress.TLS, ingress.HTTP, ingress.GRPC),
				Hosts: []string{pick(f, fuzzHosts...)}, TLS: pick(f, nil, &ingress.ServerTLS{Mode: ingress.TLSSimple, CredentialName: "c"}, &ingress.ServerTLS{Mode: ingress.TLSPassthrough}),
				Name: pick(f, "", "https", "HTTPS")})
		case 2:
			s.Servers[0].HTTPSRedirect = !s.Servers[0].HTTPSRedirect
			s.Namespace = pick(f, "", "istio-system", "ML")
		default:
			s.Selector = pick(f, map[string]string(nil), map[string]string{"app": "gw"}, map[string]string{"": "x"})
		}
	}
	return s
}

// checkSecuritySpec builds one of security's specs from the bytes: what is
// accepted must pass Istio's validation and the CRD schemas, what is
// refused must name its fields.
func checkSecuritySpec(t *testing.T, f *fuzzBytes) {
	t.Helper()
	sel := pick(f, nil, map[string]string{"app": "ranker"}, map[string]string{"app": "*"})
	ns := pick(f, "", "serving", "Serving")
	var obj render.Object
	var spec any
	var err error
	switch f.next() % 4 {
	case 0:
		p := security.Policy{Name: pick(f, "ranker", "Ranker", "a.b"), Namespace: ns, Selector: sel}
		for n := pick(f, 0, 1, 2, 3); n > 0; n-- {
			p.Rules = append(p.Rules, fuzzRule(f))
		}
		spec = p
		obj, err = security.AuthorizationPolicy(p)
	case 1:
		p := security.TokenPolicy{Name: "require-jwt", Namespace: ns, Selector: sel,
			Hosts: pick(f, nil, []string{"models.example.com"}, []string{"*.example.com"}, []string{"models"}),
			Ports: pick(f, nil, []uint32{8443}, []uint32{8080, 8443}, []uint32{0})}
		spec = p
		obj, err = security.TokenRequired(p)
	case 2:
		a := security.Authentication{Name: "jwt", Namespace: ns, Selector: sel}
		for n := pick(f, 1, 2, 0); n > 0; n-- {
			a.JWT = append(a.JWT, pick(f, fuzzIssuers...))
		}
		spec = a
		obj, err = security.RequestAuthentication(a)
	default:
		s := security.Scope{Name: "ranker", Namespace: ns, Selector: sel, AllowAny: pick(f, false, true)}
		for n := pick(f, 1, 2, 0); n > 0; n-- {
			s.Hosts = append(s.Hosts, pick(f, security.ControlPlane, "./s3.eu-west-1.amazonaws.com", "*/*.example.com", "s3.amazonaws.com", "./models", "Web/x.example.com", "~/*"))
		}
		spec = s
		obj, err = security.Sidecar(s)
	}
	if refusedAtFields(t, spec, err) {
		return
	}
	checkIstioObjects(t, obj)
}
