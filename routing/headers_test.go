package routing_test

import (
	"strings"
	"testing"

	"github.com/mlmesh/mlmesh/routing"
)

func headerSpec() routing.Spec {
	s := gatewaySpec()
	s.Rules[1].Headers = &routing.HeaderChanges{
		Request:  routing.HeaderOps{Set: map[string]string{"x-model": "chat", "x-tier": "gold"}, Add: map[string]string{"x-trace": "1"}, Remove: []string{"x-debug"}},
		Response: routing.HeaderOps{Remove: []string{"server"}},
	}
	return s
}

// TestHeaderChanges: the same changes as a VirtualService route's headers
// and as a Gateway API rule's header modifiers, names in order.
func TestHeaderChanges(t *testing.T) {
	vs, err := routing.VirtualService(headerSpec())
	if err != nil {
		t.Fatal(err)
	}
	h := vs.Spec.Http[1].Headers
	if h == nil || h.Request.Set["x-tier"] != "gold" || h.Request.Add["x-trace"] != "1" || h.Request.Remove[0] != "x-debug" || h.Response.Remove[0] != "server" || h.Response.Set != nil {
		t.Errorf("VirtualService headers %+v", h)
	}
	routes, err := routing.GatewayRoutes(headerSpec())
	if err != nil {
		t.Fatal(err)
	}
	f := routes[0].Spec.Rules[1].Filters
	if len(f) != 3 || f[0].Type != "RequestHeaderModifier" || f[1].Type != "ResponseHeaderModifier" || f[2].Type != "RequestMirror" {
		t.Fatalf("filters %+v", f)
	}
	req := f[0].RequestHeaderModifier
	if len(req.Set) != 2 || req.Set[0].Name != "x-model" || req.Set[1].Name != "x-tier" || req.Add[0].Value != "1" || req.Remove[0] != "x-debug" {
		t.Errorf("request modifier %+v", req)
	}
}

func TestHeaderChangeErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		ops  routing.HeaderOps
		want string
	}{
		{"host", routing.HeaderOps{Set: map[string]string{"host": "x"}}, `headers.request.set[host]: invalid value "host": the Host header cannot be changed here`},
		{"pseudo-header", routing.HeaderOps{Remove: []string{":path"}}, `headers.request.remove[0]: invalid value ":path": an HTTP header name`},
		{"twice", routing.HeaderOps{Set: map[string]string{"x-a": "1"}, Remove: []string{"x-a"}}, `headers.request.remove[0]: invalid value "x-a": already changed by rules[1].headers.request.set`},
		{"upper case", routing.HeaderOps{Set: map[string]string{"X-A": "1"}}, `headers.request.set[X-A]: invalid value "X-A": a lowercase header name`},
		{"percent", routing.HeaderOps{Add: map[string]string{"x-a": "100%"}}, `headers.request.add[x-a]: invalid value "100%": a literal value without '%'`},
		{"newline", routing.HeaderOps{Add: map[string]string{"x-a": "a\nb"}}, `a header value without control characters`},
	} {
		s := gatewaySpec()
		s.Rules[1].Headers = &routing.HeaderChanges{Request: tc.ops}
		err := s.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.want)
		}
	}
	s := gatewaySpec()
	many := map[string]string{}
	for _, c := range "abcdefghijklmnopq" {
		many["x-"+string(c)] = "v"
	}
	s.Rules[1].Headers = &routing.HeaderChanges{Response: routing.HeaderOps{Set: many}}
	if err := s.Validate(); err != nil {
		t.Errorf("17 headers in the Istio dialect: %v", err)
	}
	if err := s.ValidateGatewayAPI(); err == nil || !strings.Contains(err.Error(), "headers.response.set: too many: 17: must have at most 16 items") {
		t.Errorf("17 headers in the Gateway API dialect: %v", err)
	}
}
