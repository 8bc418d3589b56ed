package security

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	securityapi "istio.io/api/security/v1beta1"
	typeapi "istio.io/api/type/v1beta1"
	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/mlmesh/mlmesh"
	"github.com/mlmesh/mlmesh/internal/check"
	"github.com/mlmesh/mlmesh/internal/fielderr"
	"github.com/mlmesh/mlmesh/internal/fieldpath"
	"github.com/mlmesh/mlmesh/internal/labels"
)

// ValidationError reports every problem in a spec, each with its field path.
// Its Unwrap method returns each problem as a *field.Error
// (k8s.io/apimachinery/pkg/util/validation/field).
type ValidationError = mlmesh.ValidationError

// Caller is who may call: exactly one of its fields is set. Every field
// but RequestPrincipal names a peer identity, which Istio reads from the
// caller's mTLS certificate: it needs mutual TLS between the proxies (the
// mesh default, or a STRICT PeerAuthentication).
type Caller struct {
	// ServiceAccount is a workload's Kubernetes service account,
	// "namespace/name", or "name" in the policy's namespace.
	ServiceAccount string
	// Namespace is any workload of a namespace.
	Namespace string
	// Principal is a SPIFFE identity without its scheme,
	// "<trust domain>/ns/<namespace>/sa/<name>"; a "*" at its start or end
	// matches a suffix or a prefix ("cluster.local/ns/web/*").
	Principal string
	// RequestPrincipal is a validated JWT's "<issuer>/<subject>", or "*"
	// for any valid token; it needs a RequestAuthentication for the issuer.
	RequestPrincipal string
}

// Rule is one way of being allowed: a request matches if it comes from one
// of From and is for one of Methods, one of Paths and one of Ports (an
// empty list matches anything).
type Rule struct {
	// From are the callers; empty means any caller.
	From []Caller
	// Methods are HTTP methods in upper case ("GET", "POST"); gRPC calls
	// are POST.
	Methods []string
	// Paths are request paths: exact ("/v1/models/ranker:predict"), a
	// prefix ("/v1/models/*"), a suffix ("*:predict"), or an Istio path
	// template ("/v1/models/{*}/versions/{**}"). For gRPC, the
	// "/package.Service/Method" name.
	Paths []string
	// Hosts are Host headers, case-insensitive, with the same wildcards as
	// Paths; for policies on a gateway, which serves several hosts.
	Hosts []string
	// Ports are the workload's ports the request arrives at (the
	// container port, which is the Service port for mlmesh's models).
	Ports []uint32
}

// Policy is an ALLOW AuthorizationPolicy: a request to the pods it selects
// is allowed only if one of its rules matches.
type Policy struct {
	// Name names the policy. A DNS-1123 subdomain. Required.
	Name string
	// Namespace is where it goes; empty means "default".
	Namespace string
	// Selector picks the pods (in Namespace) it applies to; empty means
	// every workload of the namespace.
	Selector map[string]string
	// Gateway names a Gateway API Gateway of Namespace whose pods the policy
	// applies to (a targetRef), instead of Selector: Istio ignores a
	// selector of a Gateway API Gateway's pods.
	Gateway string
	// Services names Services of Namespace whose waypoint applies the
	// policy to the requests for them (targetRefs, in ambient mode),
	// instead of Selector or Gateway: a waypoint applies only policies that
	// target it or its Services. At most 16.
	Services []string
	// Rules are the ways of being allowed. None allows nothing: every
	// request to the selected pods is denied, unless another ALLOW policy
	// allows it (a namespace's default deny is a Policy without Selector
	// and Rules).
	Rules []Rule
	// Labels are put on the policy.
	Labels map[string]string
}

// TokenPolicy is "a valid token is required": a DENY AuthorizationPolicy of
// requests without a request principal, as Istio's JWT task sets it up. The
// tokens themselves are validated by a RequestAuthentication for the same
// pods; without a valid token a request is refused with 403.
type TokenPolicy struct {
	// Name names the policy. A DNS-1123 subdomain. Required.
	Name string
	// Namespace is where it goes; empty means "default".
	Namespace string
	// Selector picks the pods; empty means every workload of the namespace.
	Selector map[string]string
	// Gateway names a Gateway API Gateway of Namespace whose pods the policy
	// applies to (a targetRef), instead of Selector: Istio ignores a
	// selector of a Gateway API Gateway's pods.
	Gateway string
	// Services names Services of Namespace whose waypoint applies the
	// policy to the requests for them (targetRefs, in ambient mode),
	// instead of Selector or Gateway: a waypoint applies only policies that
	// target it or its Services. At most 16.
	Services []string
	// Hosts limits the requirement to requests for these Host headers (a
	// gateway serving several hosts), each matched with and without a port
	// ("h" and "h:*": a client may send either); empty means every request.
	// Exact names only: a wildcard cannot also be matched with a port, so a
	// requirement for "*.example.com" is one for every host.
	Hosts []string
	// Ports are the pods' HTTP ports the requirement applies to (container
	// ports). Required: a DENY rule of HTTP attributes alone would deny
	// every TCP connection to the pods, which carry no request principal.
	Ports []uint32
	// Labels are put on the policy.
	Labels map[string]string
}

func namespaceOr(ns string) string {
	if ns == "" {
		return "default"
	}
	return ns
}

// Validate reports every problem in p at once, as a *ValidationError, or nil.
func (p Policy) Validate() error {
	var errs field.ErrorList
	errs = append(errs, checkMeta(p.Name, p.Namespace, p.Selector, p.Labels)...)
	errs = append(errs, checkTarget(p.Gateway, p.Services, p.Selector)...)
	for i, r := range p.Rules {
		errs = append(errs, r.validate(fieldpath.New("rules").Index(i))...)
	}
	return fielderr.New("security.Policy", errs)
}

// Validate reports every problem in p at once, as a *ValidationError, or nil.
func (p TokenPolicy) Validate() error {
	var errs field.ErrorList
	errs = append(errs, checkMeta(p.Name, p.Namespace, p.Selector, p.Labels)...)
	errs = append(errs, checkTarget(p.Gateway, p.Services, p.Selector)...)
	for i, h := range p.Hosts {
		errs = append(errs, check.Host(fieldpath.New("hosts").Index(i), h, false, false)...)
	}
	if len(p.Ports) == 0 {
		errs = append(errs, field.Required(fieldpath.New("ports").Field(), "the HTTP ports that require a token"))
	}
	errs = append(errs, checkPorts(fieldpath.New("ports"), p.Ports)...)
	return fielderr.New("security.TokenPolicy", errs)
}

// checkTarget checks a policy's Gateway or Services target beside its
// selector: one of the three, or none.
func checkTarget(gateway string, services []string, selector map[string]string) field.ErrorList {
	var errs field.ErrorList
	if gateway != "" {
		for _, msg := range check.DNS1123Subdomain(gateway) {
			errs = append(errs, field.Invalid(fieldpath.New("gateway").Field(), gateway, msg))
		}
		if len(selector) > 0 {
			errs = append(errs, field.Invalid(fieldpath.New("selector").Field(), selector, "a selector or a gateway, not both"))
		}
		if len(services) > 0 {
			errs = append(errs, field.Invalid(fieldpath.New("services").Field(), services, "a gateway or services, not both"))
		}
	}
	if len(services) == 0 {
		return errs
	}
	if len(selector) > 0 {
		errs = append(errs, field.Invalid(fieldpath.New("selector").Field(), selector, "a selector or services, not both"))
	}
	if len(services) > maxTargetRefs {
		errs = append(errs, field.TooMany(fieldpath.New("services").Field(), len(services), maxTargetRefs))
	}
	seen := make(map[string]bool, len(services))
	for i, name := range services {
		p := fieldpath.New("services").Index(i)
		for _, msg := range validation.IsDNS1035Label(name) {
			errs = append(errs, field.Invalid(p.Field(), name, msg))
		}
		if seen[name] {
			errs = append(errs, field.Duplicate(p.Field(), name))
		}
		seen[name] = true
	}
	return errs
}

// maxTargetRefs is the most targetRefs Istio's CRDs take.
const maxTargetRefs = 16

// targetRefs is the targetRefs of a policy on Gateway API Gateway gateway,
// or on services.
func targetRefs(gateway string, services []string) []*typeapi.PolicyTargetReference {
	if gateway != "" {
		return []*typeapi.PolicyTargetReference{{Group: "gateway.networking.k8s.io", Kind: "Gateway", Name: gateway}}
	}
	var refs []*typeapi.PolicyTargetReference
	for _, s := range services {
		refs = append(refs, &typeapi.PolicyTargetReference{Kind: "Service", Name: s})
	}
	return refs
}

func checkMeta(name, namespace string, selector, lbls map[string]string) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range check.DNS1123Subdomain(name) {
		errs = append(errs, field.Invalid(fieldpath.New("name").Field(), name, msg))
	}
	if namespace != "" {
		errs = append(errs, check.Label(fieldpath.New("namespace"), namespace)...)
	}
	errs = append(errs, check.Labels(fieldpath.New("selector"), selector)...)
	errs = append(errs, check.Labels(fieldpath.New("labels"), lbls)...)
	return errs
}

// maxServiceAccounts is the most service accounts one source of a rule may
// name (Istio's CRD); more are split over several sources.
const maxServiceAccounts = 16

// Validate reports every problem in r at once, as a *ValidationError, or
// nil; paths are r's own ("from[0].serviceAccount").
func (r Rule) Validate() error { return fielderr.New("security.Rule", r.validate(fieldpath.Path{})) }

func (r Rule) validate(p fieldpath.Path) field.ErrorList {
	var errs field.ErrorList
	for i, c := range r.From {
		errs = append(errs, c.validate(p.Child("from").Index(i))...)
	}
	for i, m := range r.Methods {
		errs = append(errs, checkMethod(p.Child("methods").Index(i), m)...)
	}
	errs = append(errs, checkPaths(p.Child("paths"), r.Paths)...)
	errs = append(errs, checkPatterns(p.Child("hosts"), r.Hosts, "a host")...)
	errs = append(errs, checkPorts(p.Child("ports"), r.Ports)...)
	errs = append(errs, duplicates(p.Child("methods"), r.Methods)...)
	errs = append(errs, duplicates(p.Child("paths"), r.Paths)...)
	errs = append(errs, duplicates(p.Child("hosts"), r.Hosts)...)
	return errs
}

func checkPorts(p fieldpath.Path, ports []uint32) field.ErrorList {
	var errs field.ErrorList
	for i, port := range ports {
		if port == 0 || port > 65535 {
			errs = append(errs, field.Invalid(p.Index(i).Field(), port, "a port number between 1 and 65535"))
		}
	}
	return append(errs, duplicates(p, ports)...)
}

func duplicates[T comparable](p fieldpath.Path, list []T) field.ErrorList {
	var errs field.ErrorList
	for i, v := range list {
		if slices.Index(list, v) < i {
			errs = append(errs, field.Duplicate(p.Index(i).Field(), v))
		}
	}
	return errs
}

func (c Caller) validate(p fieldpath.Path) field.ErrorList {
	var set []string
	var errs field.ErrorList
	if c.ServiceAccount != "" {
		set = append(set, "serviceAccount")
		errs = append(errs, checkServiceAccount(p.Child("serviceAccount"), c.ServiceAccount)...)
	}
	if c.Namespace != "" {
		set = append(set, "namespace")
		errs = append(errs, check.Label(p.Child("namespace"), c.Namespace)...)
	}
	if c.Principal != "" {
		set = append(set, "principal")
		errs = append(errs, checkPrincipal(p.Child("principal"), c.Principal)...)
	}
	if c.RequestPrincipal != "" {
		set = append(set, "requestPrincipal")
		errs = append(errs, checkPattern(p.Child("requestPrincipal"), c.RequestPrincipal, "<issuer>/<subject>, or \"*\"")...)
	}
	switch len(set) {
	case 0:
		errs = append(errs, field.Required(p.Field(), "one of serviceAccount, namespace, principal or requestPrincipal"))
	case 1:
	default:
		errs = append(errs, field.Invalid(p.Field(), strings.Join(set, ", "), "exactly one of serviceAccount, namespace, principal or requestPrincipal: list each caller on its own"))
	}
	return errs
}

func checkServiceAccount(p fieldpath.Path, v string) field.ErrorList {
	ns, name, ok := strings.Cut(v, "/")
	if !ok {
		ns, name = "", v
	}
	var errs field.ErrorList
	if ok {
		for _, msg := range check.DNS1123Label(ns) {
			errs = append(errs, field.Invalid(p.Field(), v, "namespace/name, namespace "+msg))
		}
	}
	for _, msg := range check.DNS1123Subdomain(name) {
		errs = append(errs, field.Invalid(p.Field(), v, "namespace/name, name "+msg))
	}
	return errs
}

// checkPrincipal checks a SPIFFE identity without its scheme, as Istio
// matches it: a pattern with at most one "*", at its start or end.
func checkPrincipal(p fieldpath.Path, v string) field.ErrorList {
	if strings.HasPrefix(v, "spiffe://") {
		return field.ErrorList{field.Invalid(p.Field(), v, "without the spiffe:// scheme: "+strings.TrimPrefix(v, "spiffe://"))}
	}
	if errs := checkPattern(p, v, "a principal"); len(errs) > 0 {
		return errs
	}
	if strings.Contains(v, "*") {
		return nil
	}
	parts := strings.Split(v, "/")
	if len(parts) != 5 || parts[1] != "ns" || parts[3] != "sa" || parts[0] == "" || parts[2] == "" || parts[4] == "" {
		return field.ErrorList{field.Invalid(p.Field(), v, "<trust domain>/ns/<namespace>/sa/<service account>")}
	}
	return nil
}

// checkPatterns checks values Istio matches exactly, by prefix ("x*"), by
// suffix ("*x") or for presence ("*").
func checkPatterns(p fieldpath.Path, values []string, what string) field.ErrorList {
	var errs field.ErrorList
	for i, v := range values {
		errs = append(errs, checkPattern(p.Index(i), v, what)...)
	}
	return errs
}

func checkPattern(p fieldpath.Path, v, what string) field.ErrorList {
	switch n := strings.Count(v, "*"); {
	case v == "":
		return field.ErrorList{field.Required(p.Field(), what)}
	case strings.ContainsAny(v, " \t\r\n"):
		return field.ErrorList{field.Invalid(p.Field(), v, what+" without spaces")}
	case n > 1 || n == 1 && !strings.HasPrefix(v, "*") && !strings.HasSuffix(v, "*"):
		return field.ErrorList{field.Invalid(p.Field(), v, what+" with at most one \"*\", at its start or its end")}
	}
	return nil
}

// checkPaths checks request paths: patterns, or Istio's path templates
// ({*} one segment, {**} any, last).
func checkPaths(p fieldpath.Path, paths []string) field.ErrorList {
	var errs field.ErrorList
	for i, v := range paths {
		vp := p.Index(i).Field()
		if !strings.Contains(v, "{") && !strings.Contains(v, "}") {
			errs = append(errs, checkPattern(p.Index(i), v, "a path")...)
			if v != "" && !strings.HasPrefix(v, "/") && !strings.HasPrefix(v, "*") {
				errs = append(errs, field.Invalid(vp, v, "a path starting with \"/\" (or \"*\" for a suffix)"))
			}
			continue
		}
		if !strings.HasPrefix(v, "/") {
			errs = append(errs, field.Invalid(vp, v, "a path template starting with \"/\""))
			continue
		}
		any := false
		for _, seg := range strings.Split(strings.Trim(v, "/"), "/") {
			switch {
			case seg == "{**}" && !any:
				any = true
			case seg == "{*}" && !any:
			case seg == "{*}" || seg == "{**}":
				errs = append(errs, field.Invalid(vp, v, "a path template whose {**} is its last operator"))
			case strings.ContainsAny(seg, "{}*"):
				errs = append(errs, field.Invalid(vp, v, "a path template whose segments are literals, {*} or {**}"))
			}
		}
	}
	return errs
}

// methods are the HTTP methods Envoy sees in :method.
var methods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
	http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace}

func checkMethod(p fieldpath.Path, m string) field.ErrorList {
	if slices.Contains(methods, m) {
		return nil
	}
	if u := strings.ToUpper(m); slices.Contains(methods, u) {
		return field.ErrorList{field.Invalid(p.Field(), m, fmt.Sprintf("an HTTP method in upper case (%q): methods match exactly", u))}
	}
	return field.ErrorList{field.NotSupported(p.Field(), m, methods)}
}

func meta(name, namespace string, lbls map[string]string) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name: name, Namespace: namespaceOr(namespace),
		Labels: labels.Merge(lbls, map[string]string{labels.ManagedBy: labels.Manager}),
	}
}

func selector(m map[string]string) *typeapi.WorkloadSelector {
	if len(m) == 0 {
		return nil
	}
	return &typeapi.WorkloadSelector{MatchLabels: labels.Merge(m, nil)}
}

// AuthorizationPolicy validates p and returns its ALLOW AuthorizationPolicy.
// A rule's callers of each kind share a source (service accounts in
// groups of 16, the most Istio allows in one); a rule without callers,
// methods, paths, hosts or ports matches every request.
func AuthorizationPolicy(p Policy) (*securityv1.AuthorizationPolicy, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return p.authorizationPolicy(), nil
}

func (p *Policy) authorizationPolicy() *securityv1.AuthorizationPolicy {
	ap := &securityv1.AuthorizationPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: "security.istio.io/v1", Kind: "AuthorizationPolicy"},
		ObjectMeta: meta(p.Name, p.Namespace, p.Labels),
	}
	ap.Spec.Selector = selector(p.Selector)
	ap.Spec.TargetRefs = targetRefs(p.Gateway, p.Services)
	ap.Spec.Action = securityapi.AuthorizationPolicy_ALLOW
	for _, r := range p.Rules {
		ap.Spec.Rules = append(ap.Spec.Rules, r.rule())
	}
	return ap
}

func (r Rule) rule() *securityapi.Rule {
	out := &securityapi.Rule{}
	var sas, nss, ps, rps []string
	for _, c := range r.From {
		switch {
		case c.ServiceAccount != "":
			sas = append(sas, c.ServiceAccount)
		case c.Namespace != "":
			nss = append(nss, c.Namespace)
		case c.Principal != "":
			ps = append(ps, c.Principal)
		default:
			rps = append(rps, c.RequestPrincipal)
		}
	}
	for chunk := range slices.Chunk(sas, maxServiceAccounts) {
		out.From = append(out.From, &securityapi.Rule_From{Source: &securityapi.Source{ServiceAccounts: chunk}})
	}
	if len(nss) > 0 {
		out.From = append(out.From, &securityapi.Rule_From{Source: &securityapi.Source{Namespaces: nss}})
	}
	if len(ps) > 0 {
		out.From = append(out.From, &securityapi.Rule_From{Source: &securityapi.Source{Principals: ps}})
	}
	if len(rps) > 0 {
		out.From = append(out.From, &securityapi.Rule_From{Source: &securityapi.Source{RequestPrincipals: rps}})
	}
	if len(r.Methods)+len(r.Paths)+len(r.Hosts)+len(r.Ports) > 0 {
		op := &securityapi.Operation{
			Methods: slices.Clone(r.Methods), Paths: slices.Clone(r.Paths), Hosts: slices.Clone(r.Hosts),
		}
		op.Ports = portStrings(r.Ports)
		out.To = []*securityapi.Rule_To{{Operation: op}}
	}
	return out
}

func portStrings(ports []uint32) []string {
	var out []string
	for _, port := range ports {
		out = append(out, strconv.FormatUint(uint64(port), 10))
	}
	return out
}

// TokenRequired validates p and returns its DENY AuthorizationPolicy of
// requests without a request principal (notRequestPrincipals: ["*"]) to
// p.Ports, and for p.Hosts if any.
func TokenRequired(p TokenPolicy) (*securityv1.AuthorizationPolicy, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return p.tokenRequired(), nil
}

func (p *TokenPolicy) tokenRequired() *securityv1.AuthorizationPolicy {
	ap := &securityv1.AuthorizationPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: "security.istio.io/v1", Kind: "AuthorizationPolicy"},
		ObjectMeta: meta(p.Name, p.Namespace, p.Labels),
	}
	ap.Spec.Selector = selector(p.Selector)
	ap.Spec.TargetRefs = targetRefs(p.Gateway, p.Services)
	ap.Spec.Action = securityapi.AuthorizationPolicy_DENY
	op := &securityapi.Operation{Ports: portStrings(p.Ports)}
	for _, h := range p.Hosts {
		op.Hosts = append(op.Hosts, h, h+":*")
	}
	rule := &securityapi.Rule{
		From: []*securityapi.Rule_From{{Source: &securityapi.Source{NotRequestPrincipals: []string{"*"}}}},
		To:   []*securityapi.Rule_To{{Operation: op}},
	}
	ap.Spec.Rules = []*securityapi.Rule{rule}
	return ap
}
