package security

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
	securityapi "istio.io/api/security/v1beta1"
)

func TestValidate(t *testing.T) {
	ok := Policy{Name: "p", Rules: []Rule{{From: []Caller{{Namespace: "web"}}}}}
	for _, tc := range []struct {
		name string
		spec interface{ Validate() error }
		want []string // each message, in order
	}{
		{"valid policy", ok, nil},
		{"allow nothing", Policy{Name: "deny"}, nil},
		{"bad name", Policy{Name: "Deny"}, []string{`name: invalid value "Deny"`}},
		{"empty caller", Policy{Name: "p", Rules: []Rule{{From: []Caller{{}}}}}, []string{`rules[0].from[0]: required: one of serviceAccount, namespace, principal or requestPrincipal`}},
		{"bad service account", Policy{Name: "p", Rules: []Rule{{From: []Caller{{ServiceAccount: "a/b/c"}}}}}, []string{`rules[0].from[0].serviceAccount: invalid value "a/b/c": namespace/name, name`}},
		{"principal form", Policy{Name: "p", Rules: []Rule{{From: []Caller{{Principal: "cluster.local/web/frontend"}}}}}, []string{`rules[0].from[0].principal: invalid value "cluster.local/web/frontend": <trust domain>/ns/<namespace>/sa/<service account>`}},
		{"principal wildcard inside", Policy{Name: "p", Rules: []Rule{{From: []Caller{{Principal: "cluster.local/ns/*/sa/x"}}}}}, []string{`at most one "*", at its start or its end`}},
		{"prefix principal", Policy{Name: "p", Rules: []Rule{{From: []Caller{{Principal: "cluster.local/ns/web/*"}}}}}, nil},
		{"unknown method", Policy{Name: "p", Rules: []Rule{{Methods: []string{"FETCH"}}}}, []string{`rules[0].methods[0]: unsupported value "FETCH"`}},
		{"relative path", Policy{Name: "p", Rules: []Rule{{Paths: []string{"v1/models"}}}}, []string{`rules[0].paths[0]: invalid value "v1/models": a path starting with "/"`}},
		{"path template", Policy{Name: "p", Rules: []Rule{{Paths: []string{"/v1/models/{*}/versions/{**}"}}}}, nil},
		{"template with {**} first", Policy{Name: "p", Rules: []Rule{{Paths: []string{"/{**}/x/{*}"}}}}, []string{`whose {**} is its last operator`}},
		{"port 0 and a duplicate", Policy{Name: "p", Rules: []Rule{{Ports: []uint32{0, 8501, 8501}}}}, []string{`rules[0].ports[0]: invalid value "0"`, `rules[0].ports[2]: duplicate value "8501"`}},
		{"token policy without ports", TokenPolicy{Name: "t"}, []string{`ports: required`}},
		{"token policy wildcard host", TokenPolicy{Name: "t", Hosts: []string{"*.example.com"}, Ports: []uint32{8080}}, []string{`hosts[0]: invalid value "*.example.com"`}},
		{"jwt without keys", Authentication{Name: "a", JWT: []JWT{{Issuer: "i"}}}, []string{`jwt[0].jwksURI: required`}},
		{"jwt bad uri", Authentication{Name: "a", JWT: []JWT{{Issuer: "i", JWKSURI: "ftp://x/keys"}}}, []string{`jwt[0].jwksURI: invalid value "ftp://x/keys"`}},
		{"jwt private key", Authentication{Name: "a", JWT: []JWT{{Issuer: "i", JWKS: `{"keys":[{"kty":"RSA","n":"AAAA","e":"AQAB","d":"secret"}]}`}}}, []string{`keys[0] holds a private key`}},
		{"jwt duplicate issuer", Authentication{Name: "a", JWT: []JWT{{Issuer: "i", JWKSURI: "https://x/k"}, {Issuer: "i", JWKSURI: "https://y/k"}}}, []string{`jwt[1].issuer: duplicate value "i"`}},
		{"claim header", Authentication{Name: "a", JWT: []JWT{{Issuer: "i", JWKSURI: "https://x/k", ClaimHeaders: []ClaimHeader{{Claim: "sub", Header: "x user"}}}}}, []string{`jwt[0].claimHeaders[0].header: invalid value "x user"`}},
		{"identity aws", Identity{Name: "m", AWSRoleARN: "arn:aws-us-gov:iam::123456789012:role/team/" + strings.Repeat("r", 512-len("team/"))}, nil},
		{"identity aws name too long", Identity{Name: "m", AWSRoleARN: "arn:aws:iam::123456789012:role/" + strings.Repeat("r", 513)}, []string{`awsRoleARN: invalid value`}},
		{"identity aws without name", Identity{Name: "m", AWSRoleARN: "arn:aws:iam::123456789012:role/"}, []string{`awsRoleARN: invalid value`}},
		{"identity aws name with a colon", Identity{Name: "m", AWSRoleARN: "arn:aws:iam::123456789012:role/a:role/b"}, []string{`awsRoleARN: invalid value`}},
		{"identity aws short account", Identity{Name: "m", AWSRoleARN: "arn:aws:iam::12345:role/r"}, []string{`awsRoleARN: invalid value`}},
		{"identity gcp", Identity{Name: "m", GCPServiceAccount: "reader@project.iam.gserviceaccount.com"}, nil},
		{"identity bad gcp", Identity{Name: "m", GCPServiceAccount: "reader@gmail.com"}, []string{`gcpServiceAccount: invalid value "reader@gmail.com"`}},
		{"identity azure tenant alone", Identity{Name: "m", AzureTenantID: "00000000-0000-0000-0000-000000000000"}, []string{`azureClientID: required`}},
		{"identity annotation shadowing a field", Identity{Name: "m", Annotations: map[string]string{AWSRoleAnnotation: "x"}}, []string{`annotations[eks.amazonaws.com/role-arn]: invalid value "eks.amazonaws.com/role-arn": set by a field of Identity`}},
		{"sidecar host form", Scope{Name: "s", Hosts: []string{"s3.amazonaws.com"}}, []string{`hosts[0]: invalid value "s3.amazonaws.com": "<namespace>/<host>"`}},
		{"sidecar without hosts", Scope{Name: "s"}, []string{`hosts: required`}},
		{"peer mode", Peer{Name: "default", Mode: "DISABLE"}, []string{`mode: unsupported value "DISABLE"`}},
		{"services target", Policy{Name: "p", Services: []string{"ranker", "ranker-v1"}}, nil},
		{"services and selector", TokenPolicy{Name: "t", Ports: []uint32{8501}, Services: []string{"ranker"}, Selector: map[string]string{"app": "ranker"}}, []string{`selector: invalid value "map[app:ranker]": a selector or services, not both`}},
		{"services and gateway", Authentication{Name: "a", JWT: []JWT{{Issuer: "i", JWKSURI: "https://x/k"}}, Gateway: "gw", Services: []string{"ranker"}}, []string{`services: invalid value "[ranker]": a gateway or services, not both`}},
		{"service names", Policy{Name: "p", Services: []string{"Ranker", "a", "a"}}, []string{`services[0]: invalid value "Ranker"`, `services[2]: duplicate value "a"`}},
		{"too many services", Policy{Name: "p", Services: strings.Split("a b c d e f g h i j k l m n o p q", " ")}, []string{`services: too many: 17: must have at most 16 items`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.spec.Validate()
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("accepted, or not a *ValidationError: %v", err)
			}
			if len(ve.Errors) != len(tc.want) {
				t.Fatalf("%d messages, want %d: %v", len(ve.Errors), len(tc.want), err)
			}
			// The messages as the error prints them, one by one.
			msgs := strings.Split(strings.TrimPrefix(err.Error(), "invalid "+ve.Spec+": "), "; ")
			for i, w := range tc.want {
				if i >= len(msgs) || !strings.Contains(msgs[i], w) {
					t.Errorf("message %d of %v\nwant it to contain: %s", i, msgs, w)
				}
			}
		})
	}
}

// TestServiceTargets: a policy on Services is attached to them by
// targetRefs, without a selector.
func TestServiceTargets(t *testing.T) {
	p, err := AuthorizationPolicy(Policy{Name: "p", Namespace: "m", Services: []string{"ranker", "ranker-v1"}, Rules: []Rule{{From: []Caller{{Namespace: "web"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	if p.Spec.Selector != nil || len(p.Spec.TargetRefs) != 2 || p.Spec.TargetRefs[0].Kind != "Service" || p.Spec.TargetRefs[0].Group != "" || p.Spec.TargetRefs[1].Name != "ranker-v1" {
		t.Errorf("targets %+v", p.Spec.TargetRefs)
	}
	ra, err := RequestAuthentication(Authentication{Name: "a", Services: []string{"ranker"}, JWT: []JWT{{Issuer: "i", JWKSURI: "https://x/k"}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(ra.Spec.TargetRefs) != 1 || ra.Spec.TargetRefs[0].Name != "ranker" {
		t.Errorf("targets %+v", ra.Spec.TargetRefs)
	}
}

// TestRuleSources: callers of each kind share a source, service accounts
// in groups of the 16 Istio allows in one.
func TestRuleSources(t *testing.T) {
	var from []Caller
	var sas []string
	for i := range 17 {
		sa := fmt.Sprintf("web/sa-%d", i)
		sas = append(sas, sa)
		from = append(from, Caller{ServiceAccount: sa})
	}
	from = append(from, Caller{Namespace: "batch"}, Caller{Principal: "cluster.local/ns/x/sa/y"}, Caller{RequestPrincipal: "*"})
	ap, err := AuthorizationPolicy(Policy{Name: "p", Namespace: "ns", Rules: []Rule{{From: from, Ports: []uint32{8501}}}})
	if err != nil {
		t.Fatal(err)
	}
	want := &securityapi.Rule{
		From: []*securityapi.Rule_From{
			{Source: &securityapi.Source{ServiceAccounts: sas[:16]}},
			{Source: &securityapi.Source{ServiceAccounts: sas[16:]}},
			{Source: &securityapi.Source{Namespaces: []string{"batch"}}},
			{Source: &securityapi.Source{Principals: []string{"cluster.local/ns/x/sa/y"}}},
			{Source: &securityapi.Source{RequestPrincipals: []string{"*"}}},
		},
		To: []*securityapi.Rule_To{{Operation: &securityapi.Operation{Ports: []string{"8501"}}}},
	}
	if diff := cmp.Diff(want, ap.Spec.Rules[0], protocmp.Transform()); diff != "" {
		t.Errorf("rule (-want +got):\n%s", diff)
	}
	if ap.Spec.Action != securityapi.AuthorizationPolicy_ALLOW {
		t.Errorf("action %v, want ALLOW", ap.Spec.Action)
	}
}

func TestJWKSMembers(t *testing.T) {
	for jwks, ok := range map[string]bool{
		`{"keys":[{"kty":"RSA","e":"AQAB","n":"AAAA"}]}`:              true,
		`{"keys":[{"kty":"RSA","e":"AQAB","n":"x"}]}`:                 false,
		`{"keys":[{"kty":"RSA","e":"AQAB"}]}`:                         false,
		`{"keys":[{"kty":"EC","crv":"P-256","x":"AAAA","y":"AAAA"}]}`: true,
		`{"keys":[{"kty":"oct","k":"AAAA"}]}`:                         false,
	} {
		err := Authentication{Name: "a", JWT: []JWT{{Issuer: "i", JWKS: jwks}}}.Validate()
		if (err == nil) != ok {
			t.Errorf("%s: %v, want valid %v", jwks, err, ok)
		}
	}
}
