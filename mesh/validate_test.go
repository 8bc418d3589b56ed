package mesh_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/mlmesh/mlmesh/egress"
	"github.com/mlmesh/mlmesh/ingress"
	"github.com/mlmesh/mlmesh/mesh"
	"github.com/mlmesh/mlmesh/names"
	"github.com/mlmesh/mlmesh/render"
	"github.com/mlmesh/mlmesh/render/rendertest"
	"github.com/mlmesh/mlmesh/routing"
	"github.com/mlmesh/mlmesh/serving"
)

// canary is a valid App that each case breaks in one way.
func canary() mesh.App {
	return mesh.App{
		Namespace: mesh.Namespace{Name: "ml"},
		Gateways:  []ingress.Spec{{Name: "gw", Servers: []ingress.Server{{Port: 80, Hosts: []string{"models.example.com"}}}}},
		Egress:    []egress.Spec{egress.S3("store", "", "eu-west-1")},
		Models: []mesh.Model{{
			Model: serving.Model{Name: "m", Versions: []serving.Version{{Name: "v1", ModelURI: "s3://m/1"}, {Name: "v2", ModelURI: "s3://m/2"}}},
			Traffic: mesh.Traffic{Rules: []routing.Rule{
				{Match: []routing.Match{{Headers: map[string]routing.StringMatch{"x-canary": routing.Exact("yes")}}}, Split: []routing.Destination{{Subset: "v2"}}},
				{Split: []routing.Destination{{Subset: "v1", Weight: 90}, {Subset: "v2", Weight: 10}}},
			}},
			Expose: &mesh.Expose{Gateway: "gw", Hosts: []string{"models.example.com"}},
		}},
	}
}

func TestBuildValid(t *testing.T) {
	objs, err := mesh.Build(canary())
	if err != nil {
		t.Fatal(err)
	}
	// Namespace, ServiceEntry, Service, 2 Deployments, DestinationRule, Gateway, 2 VirtualServices.
	if len(objs) != 9 {
		t.Errorf("got %d objects, want 9", len(objs))
	}
}

func TestBuildErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*mesh.App)
		want   []string // "path: fragment", each must appear
	}{
		{"weights not summing to 100", func(a *mesh.App) {
			a.Models[0].Traffic.Rules[1].Split[1].Weight = 0
		}, []string{"models[0].traffic.rules[1].split: weights sum to 90, want 100"}},
		{"negative weight", func(a *mesh.App) {
			a.Models[0].Traffic.Rules[1].Split = []routing.Destination{{Subset: "v1", Weight: 110}, {Subset: "v2", Weight: -10}}
		}, []string{"models[0].traffic.rules[1].split[1].weight", "a percentage between 0 and 100"}},
		{"Deployment name too long", func(a *mesh.App) {
			a.Models[0].Versions[1].Name = "v2-" + strings.Repeat("x", 60)
		}, []string{`models[0].versions[1].name: invalid value`, `the Deployment name "m-v2-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" is 65 characters, want at most 63`}},
		{"same destination twice", func(a *mesh.App) {
			a.Models[0].Traffic.Rules[1].Split = []routing.Destination{{Subset: "v1", Weight: 40}, {Subset: "v2", Weight: 20}, {Subset: "v1", Weight: 40}}
		}, []string{`models[0].traffic.rules[1].split[2]: duplicate value "v1": already split[0]`}},
		{"route to unknown version", func(a *mesh.App) {
			a.Models[0].Traffic.Rules[0].Split[0].Subset = "v3"
		}, []string{`models[0].traffic.rules[0].split[0].subset: "v3" not found`, `"v1", "v2"`}},
		{"duplicate version", func(a *mesh.App) {
			a.Models[0].Versions[1].Name = "v1"
		}, []string{`models[0].versions[1].name: duplicate value "v1"`}},
		{"invalid DNS-1123 name", func(a *mesh.App) {
			a.Models[0].Name = "My_Model"
		}, []string{`models[0].name: invalid value "My_Model"`, "RFC 1123"}},
		{"invalid header name", func(a *mesh.App) {
			a.Models[0].Traffic.Rules[0].Match[0].Headers = map[string]routing.StringMatch{"x canary": routing.Exact("yes")}
		}, []string{"models[0].traffic.rules[0].match[0].headers[x canary]", "HTTP header name"}},
		{"uppercase header name", func(a *mesh.App) {
			a.Models[0].Traffic.Rules[0].Match[0].Headers = map[string]routing.StringMatch{"X-Canary": routing.Exact("yes")}
		}, []string{"headers[X-Canary]", "lowercase"}},
		{"regex not RE2", func(a *mesh.App) {
			a.Models[0].Traffic.Rules[0].Match[0].Headers = map[string]routing.StringMatch{"user-agent": routing.Regex("(?=chrome)")}
		}, []string{"headers[user-agent].value", "a valid RE2 regex"}},
		{"port out of range", func(a *mesh.App) {
			a.Models[0].Runtime = serving.Custom("img", serving.Port{Number: 70000})
		}, []string{"models[0].runtime.ports[0].number: invalid value \"70000\""}},
		{"ports clashing", func(a *mesh.App) {
			a.Models[0].Runtime = serving.Custom("img", serving.Port{Number: 8080}, serving.Port{Number: 8080, Protocol: serving.GRPC})
		}, []string{"models[0].runtime.ports[1].number: duplicate value \"8080\""}},
		{"gateway host does not cover route host", func(a *mesh.App) {
			a.Models[0].Expose.Hosts = []string{"other.example.com"}
		}, []string{`models[0].expose.hosts[0]: invalid value "other.example.com": not served by gateway "gw"`}},
		{"unknown gateway", func(a *mesh.App) {
			a.Models[0].Expose.Gateway = "nope"
		}, []string{`models[0].expose.gateway: "nope" not found`}},
		{"empty image", func(a *mesh.App) {
			a.Models[0].Runtime = serving.Custom("", serving.Port{Number: 8080})
		}, []string{"models[0].versions[0].image: required", "models[0].versions[1].image: required"}},
		{"model with no versions", func(a *mesh.App) {
			a.Models[0].Versions = nil
			a.Models[0].Traffic.Rules = nil
		}, []string{"models[0].versions: required"}},
		{"unreachable rule", func(a *mesh.App) {
			r := a.Models[0].Traffic.Rules
			a.Models[0].Traffic.Rules = []routing.Rule{r[1], r[0]}
		}, []string{"models[0].traffic.rules[0].match", "unreachable"}},
		{"several versions and no split", func(a *mesh.App) {
			a.Models[0].Traffic.Rules = nil
		}, []string{"models[0].traffic.rules: required"}},
		{"names colliding into one Deployment", func(a *mesh.App) {
			a.Models = append(a.Models,
				mesh.Model{Model: serving.Model{Name: "m-v1", Versions: []serving.Version{{Name: "x", ModelURI: "s3://m/x"}}}},
				mesh.Model{Model: serving.Model{Name: "m-v1-x", Versions: []serving.Version{{Name: "y", ModelURI: "s3://m/y"}}}})
			a.Models[0].Versions = append(a.Models[0].Versions, serving.Version{Name: "v1-x", ModelURI: "s3://m/v1-x"})
		}, []string{"models[1].versions[0].name: builds Deployment ml/m-v1-x, which models[0].versions[2].name builds too"}},
		{"TF Serving without a model URI", func(a *mesh.App) {
			a.Models[0].Versions[1].ModelURI = ""
		}, []string{`models[0].versions[1].modelURI: required: runtime "tfserving" loads the model from it`}},
		{"destination host unknown", func(a *mesh.App) {
			a.Models[0].Traffic.Rules[0].Split[0] = routing.Destination{Host: "nowhere.example.com"}
		}, []string{`models[0].traffic.rules[0].split[0].host: "nowhere.example.com" not found`}},
		{"namespace mismatch", func(a *mesh.App) {
			a.Models[0].Namespace = "other"
		}, []string{`models[0].namespace: invalid value "other"`}},
		{"bad egress host", func(a *mesh.App) {
			a.Egress[0].Hosts = append(a.Egress[0].Hosts, "*.s3.amazonaws.com")
		}, []string{"egress[0].hosts[1]", "resolution NONE"}},
		{"gateway without hosts", func(a *mesh.App) {
			a.Gateways[0].Servers[0].Hosts = nil
			a.Models[0].Expose = nil
		}, []string{"gateways[0].servers[0].hosts: required"}},
		{"bad timeout and retry", func(a *mesh.App) {
			a.Models[0].Traffic.Rules[1].Timeout = 1000 // 1µs
			a.Models[0].Traffic.Rules[1].Retries = &routing.Retries{Attempts: 2, RetryOn: []string{"sometimes"}}
		}, []string{"models[0].traffic.rules[1].timeout", "at least 1ms", `retryOn[0]: unsupported value "sometimes"`}},
		{"two models on one gateway host", func(a *mesh.App) {
			a.Models = append(a.Models, mesh.Model{
				Model:  serving.Model{Name: "other", Versions: []serving.Version{{Name: "v1", ModelURI: "s3://other/1"}}},
				Expose: &mesh.Expose{Gateway: "gw"},
			})
		}, []string{`models[1].expose.gateway: invalid value "models.example.com": host "models.example.com" on gateway ml/gw is already answered by models[0].expose`}},
		{"mirror percent", func(a *mesh.App) {
			a.Models[0].Traffic.Rules[1].Mirror = []routing.Mirror{{Subset: "v2", Percent: 0}}
		}, []string{"models[0].traffic.rules[1].mirror[0].percent"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := canary()
			tc.mutate(&a)
			objs, err := mesh.Build(a)
			if err == nil {
				t.Fatalf("Build succeeded with %d objects, want an error", len(objs))
			}
			if objs != nil {
				t.Errorf("Build returned objects with an error")
			}
			var ve *mesh.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("error %T is not a *mesh.ValidationError: %v", err, err)
			}
			var fe *field.Error
			if !errors.As(err, &fe) {
				t.Errorf("error does not unwrap to a *field.Error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not mention %q:\n%v", w, err)
				}
			}
			for _, e := range ve.Errors {
				if e.Field == "" {
					t.Errorf("problem without a field path: %v", e)
				}
			}
		})
	}
}

// TestAllProblemsAtOnce checks that independent problems are all reported.
func TestAllProblemsAtOnce(t *testing.T) {
	a := canary()
	a.Namespace.Name = ""
	a.Models[0].Versions[0].Name = "V1"
	a.Models[0].Traffic.Rules[1].Split[0].Weight = 50
	a.Gateways[0].Servers[0].Port = 0
	_, err := mesh.Build(a)
	var ve *mesh.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("want a *mesh.ValidationError, got %v", err)
	}
	for _, p := range []string{"namespace.name", "models[0].versions[0].name", "models[0].traffic.rules[1].split", "gateways[0].servers[0].port"} {
		found := false
		for _, e := range ve.Errors {
			if e.Field == p {
				found = true
			}
		}
		if !found {
			t.Errorf("no problem reported at %s; got:\n%v", p, err)
		}
	}
}

// TestZeroValueNeverPanics builds zero and partial values of every spec.
func TestZeroValueNeverPanics(t *testing.T) {
	apps := []mesh.App{
		{},
		{Models: []mesh.Model{{}}},
		{Namespace: mesh.Namespace{Name: "x"}, Models: []mesh.Model{{Expose: &mesh.Expose{}}}, Routes: []mesh.Route{{}}, Gateways: []ingress.Spec{{}}, Egress: []egress.Spec{{}}},
		{Namespace: mesh.Namespace{Name: "x"}, Models: []mesh.Model{{Traffic: mesh.Traffic{Rules: []routing.Rule{{Fault: &routing.Fault{Abort: &routing.Abort{}}, Retries: &routing.Retries{}, Match: []routing.Match{{URI: &routing.StringMatch{}}}}}, Policy: &routing.TrafficPolicy{LoadBalancer: &routing.LoadBalancer{HashCookie: &routing.Cookie{}}, ConnectionPool: &routing.ConnectionPool{}, OutlierDetection: &routing.OutlierDetection{}}}}}},
	}
	for i, a := range apps {
		if _, err := mesh.Build(a); err == nil {
			t.Errorf("app %d: Build of an incomplete App succeeded", i)
		}
	}
}

// TestExposeDefaults is the regression test for a disagreement the random
// specs found: a model exposed without hosts on a gateway that serves named
// hosts was rejected, though it answers for the gateway's hosts.
func TestExposeDefaults(t *testing.T) {
	for _, host := range []string{"models.example.com", "*.example.com", "*"} {
		a := canary()
		a.Gateways[0].Servers[0].Hosts = []string{host}
		a.Models[0].Expose.Hosts = nil
		objs, err := mesh.Build(a)
		if err != nil {
			t.Errorf("gateway host %q: %v", host, err)
			continue
		}
		found := false
		for _, o := range objs {
			if o.GetName() == names.Ingress("m") {
				found = true
			}
		}
		if !found {
			t.Errorf("gateway host %q: no %s VirtualService", host, names.Ingress("m"))
		}
	}
}

func TestFrontRouteErrors(t *testing.T) {
	a := canary()
	a.Routes = []mesh.Route{{Name: "Front_Door", Gateway: "gw", Hosts: []string{"models.example.com"},
		Rules: mesh.HeaderSelector("x-model", map[string]string{"m": "m"})}}
	a.Models[0].Expose = nil
	_, err := mesh.Build(a)
	if err == nil || !strings.Contains(err.Error(), `routes[0].name: invalid value "Front_Door"`) {
		t.Errorf("want an error at routes[0].name, got %v", err)
	}
}

// TestRenderEqualsBuild checks that streaming gives the bytes of Build.
func TestRenderEqualsBuild(t *testing.T) {
	for _, a := range []mesh.App{canary()} {
		objs, err := mesh.Build(a)
		if err != nil {
			t.Fatal(err)
		}
		want, err := render.YAML(objs)
		if err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		if err := mesh.Render(&got, a); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(want, got.Bytes()) {
			t.Errorf("mesh.Render differs from render.YAML(mesh.Build):\n%s", rendertest.Diff(string(want), got.String()))
		}
	}
	var out bytes.Buffer
	bad := canary()
	bad.Namespace.Name = ""
	if err := mesh.Render(&out, bad); err == nil || out.Len() > 0 {
		t.Errorf("an invalid App: err %v, %d bytes written", err, out.Len())
	}
}

// TestErrorsNameWrittenFields: each problem is reported once, at a field
// the user wrote (or a default that is explained), never at a field of a
// spec mlmesh derived: the default route of a one-version model, the port
// a gateway takes from the runtime, the split a front route's one
// destination becomes.
func TestErrorsNameWrittenFields(t *testing.T) {
	one := func(name, version string) mesh.Model {
		return mesh.Model{Model: serving.Model{Name: name, Versions: []serving.Version{{Name: version, ModelURI: "s3://m/1"}}}}
	}
	gateway := []ingress.Spec{{Name: "gw", Servers: []ingress.Server{{Port: 80, Hosts: []string{"a.example.com"}}}}}
	for _, tc := range []struct {
		name string
		app  mesh.App
		want []string // the paths of the problems, exactly
	}{
		{"a version name that is no subset name", mesh.App{Namespace: mesh.Namespace{Name: "ml"}, Models: []mesh.Model{one("m", "V1")}},
			[]string{"models[0].versions[0].name"}},
		{"a model name that is no host", mesh.App{Namespace: mesh.Namespace{Name: "ml"}, Models: []mesh.Model{one("*.m", "v1")}},
			[]string{"models[0].name"}},
		{"a runtime port out of range, exposed", mesh.App{Namespace: mesh.Namespace{Name: "ml"}, Gateways: gateway,
			Models: []mesh.Model{{Model: serving.Model{Name: "m", Runtime: serving.Custom("example.com/x:1", serving.Port{Number: 70000}), Versions: []serving.Version{{Name: "v1"}}},
				Expose: &mesh.Expose{Gateway: "gw"}}}},
			[]string{"models[0].runtime.ports[0].number"}},
		{"a front route's one destination to a model of two versions", func() mesh.App {
			a := canary()
			a.Models[0].Expose = nil
			a.Models[0].Traffic.Rules = a.Models[0].Traffic.Rules[1:]
			a.Routes = []mesh.Route{{Name: "front", Gateway: "gw", Hosts: []string{"models.example.com"},
				Rules: []routing.Rule{{Split: []routing.Destination{{Host: "m", Port: 70000}}}}}}
			return a
		}(), []string{"routes[0].rules[0].split[0].port"}},
		{"an account nobody makes", mesh.App{Namespace: mesh.Namespace{Name: "ml"}, Models: []mesh.Model{func() mesh.Model {
			m := one("m", "v1")
			m.ServiceAccountName = "runner"
			return m
		}()}}, []string{"models[0].serviceAccountName"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ve *mesh.ValidationError
			if err := tc.app.Validate(); !errors.As(err, &ve) {
				t.Fatalf("want a *mesh.ValidationError, got %v", err)
			}
			var got []string
			for _, fe := range ve.Errors {
				got = append(got, fe.Field)
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("problems at\n%s\nwant\n%s\n(%v)", strings.Join(got, "\n"), strings.Join(tc.want, "\n"), ve)
			}
		})
	}
	// A declared account is accepted.
	a := mesh.App{Namespace: mesh.Namespace{Name: "ml", ServiceAccounts: []string{"runner"}}, Models: []mesh.Model{one("m", "v1")}}
	a.Models[0].ServiceAccountName = "runner"
	if err := a.Validate(); err != nil {
		t.Errorf("a model running as a declared account: %v", err)
	}
}
