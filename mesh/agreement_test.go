package mesh_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/yaml"

	"github.com/mlmesh/mlmesh/egress"
	"github.com/mlmesh/mlmesh/ingress"
	"github.com/mlmesh/mlmesh/mesh"
	"github.com/mlmesh/mlmesh/render"
	"github.com/mlmesh/mlmesh/routing"
)

// TestAgreesWithIstio: each input here was accepted once and then refused
// by Istio's validation, CRD schemas or analyzers (issue 12). Each is now
// refused by Build with one message at the field the user wrote; the
// conformance suite's differential fuzzing holds the rest.
func TestAgreesWithIstio(t *testing.T) {
	long := strings.Repeat("a", 64)
	for _, tc := range []struct {
		name   string
		break_ func(a *mesh.App)
		want   string
	}{
		{"sub-millisecond timeout", func(a *mesh.App) { a.Models[0].Traffic.Rules[1].Timeout = 1500 * time.Microsecond },
			`models[0].traffic.rules[1].timeout: invalid value "1.5ms": whole milliseconds`},
		{"sub-millisecond per-try timeout", func(a *mesh.App) {
			a.Models[0].Traffic.Rules[1].Retries = &routing.Retries{Attempts: 1, PerTryTimeout: 1500 * time.Microsecond}
		}, `models[0].traffic.rules[1].retries.perTryTimeout: invalid value "1.5ms"`},
		{"sub-millisecond delay", func(a *mesh.App) {
			a.Models[0].Traffic.Rules[1].Fault = &routing.Fault{Delay: &routing.Delay{Fixed: 1500 * time.Microsecond, Percent: 10}}
		}, `models[0].traffic.rules[1].fault.delay.fixed: invalid value "1.5ms"`},
		{"sub-millisecond connect timeout", func(a *mesh.App) {
			a.Models[0].Traffic.Policy = &routing.TrafficPolicy{ConnectionPool: &routing.ConnectionPool{ConnectTimeout: 1500 * time.Microsecond}}
		}, `models[0].traffic.policy.connectionPool.connectTimeout: invalid value "1.5ms"`},
		{"sub-millisecond outlier interval", func(a *mesh.App) {
			a.Models[0].Traffic.Policy = &routing.TrafficPolicy{OutlierDetection: &routing.OutlierDetection{Interval: 1500 * time.Microsecond}}
		}, `models[0].traffic.policy.outlierDetection.interval: invalid value "1.5ms"`},
		{"long gateway host label", func(a *mesh.App) { a.Gateways[0].Servers[0].Hosts = []string{long + ".example.com"} },
			`gateways[0].servers[0].hosts[0]: invalid value "` + long + `.example.com": each label at most 63 characters`},
		{"long exposed host label", func(a *mesh.App) { a.Models[0].Expose.Hosts = []string{long + ".example.com"} },
			`models[0].expose.hosts[0]: invalid value "` + long + `.example.com": each label at most 63 characters`},
		{"long route host label", func(a *mesh.App) {
			a.Routes = []mesh.Route{{Name: "front", Gateway: "gw", Hosts: []string{long + ".example.com"}, Rules: []routing.Rule{{Split: []routing.Destination{{Host: "m", Subset: "v1"}}}}}}
		}, `routes[0].hosts[0]: invalid value "` + long + `.example.com": each label at most 63 characters`},
		{"long egress host label", func(a *mesh.App) { a.Egress[0].Hosts = []string{long + ".example.com"} },
			`egress[0].hosts[0]: invalid value "` + long + `.example.com": each label at most 63 characters`},
		{"short gateway host", func(a *mesh.App) { a.Gateways[0].Servers[0].Hosts = []string{"models"}; a.Models[0].Expose.Hosts = nil },
			`gateways[0].servers[0].hosts[0]: invalid value "models": a fully qualified name`},
		{"numeric top-level domain", func(a *mesh.App) { a.Egress[0].Hosts = []string{"a.example.123"} },
			`egress[0].hosts[0]: invalid value "a.example.123": the top-level domain "123" cannot be all-numeric`},
		{"mutual TLS without certificates", func(a *mesh.App) { a.Models[0].Traffic.Policy = &routing.TrafficPolicy{TLS: routing.TLSMutual} },
			`models[0].traffic.policy.clientCertificate: required`},
		{"simple TLS without a CA", func(a *mesh.App) { a.Models[0].Traffic.Policy = &routing.TrafficPolicy{TLS: routing.TLSSimple} },
			`models[0].traffic.policy.caCertificates: required: TLS SIMPLE must verify the server`},
		{"empty connection pool", func(a *mesh.App) {
			a.Models[0].Traffic.Policy = &routing.TrafficPolicy{ConnectionPool: &routing.ConnectionPool{}}
		}, `models[0].traffic.policy.connectionPool: required: a connection pool sets at least one cap`},
		{"empty traffic policy", func(a *mesh.App) { a.Models[0].Traffic.Policy = &routing.TrafficPolicy{} },
			`models[0].traffic.policy: required: a policy sets at least one field`},
		{"long regex", func(a *mesh.App) {
			a.Models[0].Traffic.Rules[0].Match[0].Headers["x-canary"] = routing.Regex(strings.Repeat("a", 1025))
		}, `models[0].traffic.rules[0].match[0].headers[x-canary].value: too long: may not be more than 1024`},
		{"retry on an unknown status", func(a *mesh.App) {
			a.Models[0].Traffic.Rules[1].Retries = &routing.Retries{Attempts: 1, RetryOn: []string{"599"}}
		}, `models[0].traffic.rules[1].retries.retryOn[0]: unsupported value "599"`},
		{"tiny abort percentage", func(a *mesh.App) {
			a.Models[0].Traffic.Rules[1].Fault = &routing.Fault{Abort: &routing.Abort{HTTPStatus: 503, Percent: 1e-9}}
		}, `models[0].traffic.rules[1].fault.abort.percent: invalid value "1e-09": a percentage from 0.0001`},
		{"export to itself twice", func(a *mesh.App) { a.Egress[0].ExportTo = []string{".", "ml"} },
			`egress[0].exportTo[1]: invalid value "ml": "." is the object's own namespace, ml, already listed`},
		{"two hosts on a TCP port", func(a *mesh.App) {
			a.Egress[0].Hosts = []string{"db1.example.com", "db2.example.com"}
			a.Egress[0].Addresses = []string{"192.0.2.10"}
			a.Egress[0].Ports = []egress.Port{{Number: 5432, Protocol: egress.TCP}}
		}, `egress[0].ports[0].protocol: invalid value "TCP": a TCP port cannot tell 2 hosts apart`},
		{"a TCP port without addresses", func(a *mesh.App) {
			a.Egress[0].Hosts = []string{"db.example.com"}
			a.Egress[0].Ports = []egress.Port{{Number: 5432, Protocol: egress.TCP}}
		}, `egress[0].addresses: required: ports[0] is TCP, which carries no host name`},
		{"addresses for several hosts resolved by DNS (found by FuzzApp)", func(a *mesh.App) {
			a.Egress[0].Hosts = []string{"a.example.com", "b.example.com"}
			a.Egress[0].Addresses = []string{"192.0.2.10"}
		}, `egress[0].addresses: invalid value "[192.0.2.10]": with DNS resolution, addresses on a TLS, HTTPS or TCP port belong to one host, and there are 2`},
		{"a CIDR block resolved by DNS (found by FuzzApp)", func(a *mesh.App) {
			a.Egress[0].Hosts = []string{"db.example.com"}
			a.Egress[0].Ports = []egress.Port{{Number: 5432, Protocol: egress.TCP}}
			a.Egress[0].Addresses = []string{"192.0.2.0/24"}
		}, `egress[0].addresses[0]: invalid value "192.0.2.0/24": a CIDR block needs resolution NONE`},
		{"too many egress hosts", func(a *mesh.App) {
			a.Egress[0].Hosts = nil
			for i := range 257 {
				a.Egress[0].Hosts = append(a.Egress[0].Hosts, fmt.Sprintf("h%d.example.com", i))
			}
		}, `egress[0].hosts: too many: 257: must have at most 256 items`},
		{"overlapping exposed hosts", func(a *mesh.App) {
			a.Gateways[0].Servers[0].Hosts = []string{"*.example.com"}
			a.Models[0].Expose.Hosts = []string{"*.example.com", "a.example.com"}
		}, `models[0].expose.hosts[1]: invalid value "a.example.com": overlaps "*.example.com"`},
		{"a prefix behind a shorter one", func(a *mesh.App) {
			a.Models[0].Traffic.Rules[0].Match = []routing.Match{{URI: &routing.StringMatch{Kind: routing.MatchPrefix, Value: "/v1"}}}
			a.Models[0].Traffic.Rules = append([]routing.Rule{a.Models[0].Traffic.Rules[0]}, a.Models[0].Traffic.Rules...)
			a.Models[0].Traffic.Rules[1].Match = []routing.Match{{URI: &routing.StringMatch{Kind: routing.MatchPrefix, Value: "/v1/models"}}}
		}, `models[0].traffic.rules[1].match[0].uri: invalid value "/v1/models": rules[0].match[0] (prefix "/v1") takes every request this match would`},
		{"a prefix behind a shorter one in the same rule (found by FuzzApp)", func(a *mesh.App) {
			a.Models[0].Traffic.Rules[0].Match = []routing.Match{{URI: &routing.StringMatch{Kind: routing.MatchPrefix, Value: "/v1"}}, {URI: &routing.StringMatch{Kind: routing.MatchPrefix, Value: "/v1/models"}}}
		}, `models[0].traffic.rules[0].match[1].uri: invalid value "/v1/models": rules[0].match[0] (prefix "/v1")`},
		{"one certificate on two gateways", func(a *mesh.App) {
			tls := &ingress.ServerTLS{Mode: ingress.TLSSimple, CredentialName: "models-cert"}
			a.Gateways[0].Servers = append(a.Gateways[0].Servers, ingress.Server{Port: 443, Protocol: ingress.HTTPS, Hosts: []string{"models.example.com"}, TLS: tls})
			a.Gateways = append(a.Gateways, ingress.Spec{Name: "gw2", Servers: []ingress.Server{{Port: 443, Protocol: ingress.HTTPS, Hosts: []string{"other.example.com"}, TLS: tls}}})
		}, `gateways[1].servers[0].tls.credentialName: invalid value "models-cert": gateways[0] serves the same certificate`},
		{"a front route to a model that routes by conditions", func(a *mesh.App) {
			a.Gateways[0].Servers[0].Hosts = append(a.Gateways[0].Servers[0].Hosts, "front.example.com")
			a.Routes = []mesh.Route{{Name: "front", Gateway: "gw", Hosts: []string{"front.example.com"}, Rules: []routing.Rule{{Split: []routing.Destination{{Host: "m"}}}}}}
		}, `routes[0].rules[0].split[0].host: invalid value "m": model "m" routes its requests by conditions`},
		{"a front route's port the model lacks (found by FuzzApp)", func(a *mesh.App) {
			a.Gateways[0].Servers[0].Hosts = append(a.Gateways[0].Servers[0].Hosts, "front.example.com")
			a.Routes = []mesh.Route{{Name: "front", Gateway: "gw", Hosts: []string{"front.example.com"}, Port: 8080,
				Rules: []routing.Rule{{Split: []routing.Destination{{Host: "m", Subset: "v1"}}}}}}
		}, `routes[0].port: invalid value "8080": not a port of the model's Service: want one of 8500, 8501`},
		{"one host on two gateways of the same pods and port (found by FuzzApp)", func(a *mesh.App) {
			a.Gateways = append(a.Gateways, ingress.Spec{Name: "gw2", Servers: []ingress.Server{{Port: 80, Hosts: []string{"models.example.com"}}}})
		}, `gateways[1].servers[0].hosts[0]: invalid value "models.example.com": gateways[0] serves it on port 80 of the same gateway pods`},
		{"a header name no YAML reader takes", func(a *mesh.App) {
			a.Models[0].Traffic.Rules[0].Match[0].Headers = map[string]routing.StringMatch{strings.Repeat("x", 1100): routing.Exact("1")}
		}, `: too long: may not be more than 1022`},
		{"a resource name no YAML reader takes", func(a *mesh.App) {
			a.Models[0].Versions[0].Resources.Limits = corev1.ResourceList{corev1.ResourceName(strings.Repeat("r", 1100)): resource.MustParse("1")}
		}, `models[0].versions[0].resources.limits[rrrr`},
	} {
		want := 1
		if tc.name == "mutual TLS without certificates" {
			want = 3 // CA, certificate and key: three fields to set
		}
		t.Run(tc.name, func(t *testing.T) { refused(t, tc.break_, tc.want, want) })
	}
}

// TestGatewayHostsCovered: a model exposed without hosts on a gateway that
// serves "*" and a.example.com answers for "*" alone, which covers both.
func TestGatewayHostsCovered(t *testing.T) {
	a := canary()
	a.Gateways[0].Servers[0].Hosts = []string{"*", "a.example.com"}
	a.Models[0].Expose.Hosts = nil
	objs, err := mesh.Build(a)
	if err != nil {
		t.Fatal(err)
	}
	y, _ := render.YAML(objs)
	if !strings.Contains(string(y), "  hosts:\n  - '*'\n") && !strings.Contains(string(y), "  hosts:\n  - \"*\"\n") {
		t.Errorf("the ingress VirtualService does not answer for * alone:\n%s", y)
	}
}

// TestNoncharactersReadBack: a model URI with U+FFFE renders as YAML every
// reader takes, and reads back as written.
func TestNoncharactersReadBack(t *testing.T) {
	a := canary()
	a.Models[0].Versions[0].ModelURI = "s3://m/\ufffe\uffff"
	objs, err := mesh.Build(a)
	if err != nil {
		t.Fatal(err)
	}
	y, err := render.YAML(objs)
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range strings.Split(string(y), "---\n") {
		var v any
		if err := yaml.Unmarshal([]byte(doc), &v); err != nil {
			t.Fatalf("a YAML reader refuses the output: %v", err)
		}
	}
	if !strings.Contains(string(y), `s3://m/\ufffe\uffff`) {
		t.Error("the noncharacters are not escaped")
	}
}

// TestOneProblemOneMessage: each problem is reported once, at the field the
// user wrote, saying what was expected (issue 12's error-path classes).
func TestOneProblemOneMessage(t *testing.T) {
	front := func(a *mesh.App) *mesh.Route {
		a.Routes = []mesh.Route{{Name: "front", Gateway: "gw", Hosts: []string{"front.example.com"}, Rules: []routing.Rule{{Split: []routing.Destination{{Host: "m", Subset: "v1"}}}}}}
		a.Gateways[0].Servers[0].Hosts = append(a.Gateways[0].Servers[0].Hosts, "front.example.com")
		return &a.Routes[0]
	}
	for _, tc := range []struct {
		name   string
		break_ func(a *mesh.App)
		want   string
	}{
		{"a pinned port the model lacks", func(a *mesh.App) { a.Models[0].Traffic.Port = 9999 },
			`models[0].traffic.port: invalid value "9999": not a port of the model's Service: want one of 8500, 8501`},
		{"an exposed port the model lacks", func(a *mesh.App) { a.Models[0].Expose.Port = 9999 },
			`models[0].expose.port: invalid value "9999": not a port of the model's Service`},
		{"two versions, no rules", func(a *mesh.App) { a.Models[0].Traffic.Rules = nil },
			`models[0].traffic.rules: required: model "m" has 2 versions: say how traffic is split between them`},
		{"an invalid App namespace, defaulted everywhere", func(a *mesh.App) { a.Namespace.Name = "ML"; front(a) },
			`namespace.name: invalid value "ML"`},
		{"a host two routes answer", func(a *mesh.App) { front(a).Hosts = []string{"models.example.com"} },
			`routes[0].hosts[0]: invalid value "models.example.com": host "models.example.com" on gateway ml/gw is already answered by models[0].expose`},
		{"a front route's port", func(a *mesh.App) { front(a).Port = 70000 },
			`routes[0].port: invalid value "70000": a port number between 1 and 65535`},
		{"a front route's unknown gateway", func(a *mesh.App) { front(a).Gateway = "nope" },
			`routes[0].gateway: "nope" not found: want one of App.Gateways: gw`},
		{"no gateway named", func(a *mesh.App) { a.Models[0].Expose.Gateway = "" },
			`models[0].expose.gateway: required: the name of one of App.Gateways: gw`},
		{"a one-destination split's port", func(a *mesh.App) { front(a).Rules[0].Split[0].Port = 70000 },
			`routes[0].rules[0].split[0].port: invalid value "70000"`},
		{"the wildcard as an egress host", func(a *mesh.App) { a.Egress[0].Hosts = []string{"*"} },
			`egress[0].hosts[0]: invalid value "*": a hostname, not the wildcard *`},
		{"a model twice", func(a *mesh.App) { a.Models = append(a.Models, a.Models[0]); a.Models[1].Expose = nil },
			`models[1].name: duplicate value "m": already models[0]`},
		{"a host listed twice", func(a *mesh.App) { a.Models[0].Expose.Hosts = []string{"models.example.com", "models.example.com"} },
			`models[0].expose.hosts[1]: duplicate value "models.example.com"`},
	} {
		t.Run(tc.name, func(t *testing.T) { refused(t, tc.break_, tc.want, 1) })
	}
}

// refused builds the canary broken one way and wants it refused with n
// messages, one of them containing want, none ending in a bare colon.
func refused(t *testing.T, break_ func(*mesh.App), want string, n int) {
	t.Helper()
	a := canary()
	break_(&a)
	refusedApp(t, a, want, n)
}

// refusedApp wants a refused with n messages, one of them containing want,
// none ending in a bare colon.
func refusedApp(t *testing.T, a mesh.App, want string, n int) {
	t.Helper()
	_, err := mesh.Build(a)
	var ve *mesh.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("accepted, or not a *mesh.ValidationError: %v", err)
	}
	if len(ve.Errors) != n || !strings.Contains(err.Error(), want) {
		t.Errorf("got %d messages: %v\nwant %d, with: %s", len(ve.Errors), err, n, want)
	}
	if strings.HasSuffix(strings.TrimSpace(err.Error()), ":") || strings.Contains(err.Error(), ": ;") {
		t.Errorf("a message ends in a bare colon: %v", err)
	}
}
