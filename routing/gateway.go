package routing

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/mlmesh/mlmesh/internal/fielderr"
	"github.com/mlmesh/mlmesh/internal/fieldpath"
	"github.com/mlmesh/mlmesh/names"
)

// The Gateway API dialect of a Spec: the same routing as Kubernetes'
// Gateway API routes, which send to Services rather than subsets.
//
// A subset S of a host's Service V is the Service names.Deployment(V, S),
// which selects that version's pods (mesh builds it). Routes whose
// Gateways are "mesh" (or none) attach to the host's own Service (GAMMA),
// an HTTPRoute per port: gRPC is HTTP/2, and an HTTPRoute carries it with
// the rule's timeout, which a GRPCRoute of the standard channel has no
// field for. Routes bound to gateways ("namespace/name") attach to those
// Gateway API Gateways and answer for Host and Hosts. What Gateway API's
// standard channel cannot say is refused, with the field: fault injection,
// retries (experimental), header prefix matches, port matches (a route
// attaches to ports instead), destinations outside the cluster.

// GatewayRoutes validates s and returns its Gateway API routes: an
// HTTPRoute per port of Ports (one for all when it names none), named
// Name, or <Name>-<port> when there are several (see GatewayRouteNames).
func GatewayRoutes(s Spec) ([]*gatewayv1.HTTPRoute, error) {
	c, err := Check(&s)
	if err != nil {
		return nil, err
	}
	return c.GatewayRoutes()
}

// GatewayRouteNames returns the names of the HTTPRoutes GatewayRoutes
// builds for s, in order.
func GatewayRouteNames(s Spec) []string {
	if len(s.Ports) <= 1 {
		return []string{s.Name}
	}
	out := make([]string, len(s.Ports))
	for i, p := range s.Ports {
		out[i] = names.GatewayRoute(s.Name, p, len(s.Ports))
	}
	return out
}

// ValidateGatewayAPI reports what of s the Gateway API dialect cannot say,
// beyond Validate's problems, as a *ValidationError, or nil.
func (s Spec) ValidateGatewayAPI() error {
	return fielderr.New("routing.Spec", s.validateGatewayAPI())
}

// serviceOf is the Service name of a cluster host ("m.ns.svc.cluster.local"
// or "m"), and whether it is one.
func serviceOf(host string) (string, bool) {
	name, rest, _ := strings.Cut(host, ".")
	return name, rest == "" || strings.HasSuffix(rest, ".svc.cluster.local") || strings.HasSuffix(rest, ".svc") || !strings.Contains(rest, ".")
}

func (s Spec) meshBound() bool {
	return len(s.Gateways) == 0 || slices.Equal(s.Gateways, []string{"mesh"})
}

func (s Spec) validateGatewayAPI() field.ErrorList {
	var errs field.ErrorList
	if !s.meshBound() && slices.Contains(s.Gateways, "mesh") {
		errs = append(errs, field.Invalid(fieldpath.New("gateways").Field(), s.Gateways, "the mesh or gateways, not both: Gateway API routes attach to a Service or to Gateways"))
	}
	if _, ok := serviceOf(s.Host); !ok && s.meshBound() {
		errs = append(errs, field.Invalid(fieldpath.New("host").Field(), s.Host, "a Service of the cluster: Gateway API mesh routes attach to the host's Service"))
	}
	if len(s.Pools) > 0 && s.meshBound() {
		errs = append(errs, field.Forbidden(fieldpath.New("pools").Field(), "InferencePools are backends of routes on gateways: Istio does not route the mesh to them"))
	}
	for i, r := range s.Rules {
		errs = append(errs, s.validateGatewayRule(fieldpath.New("rules").Index(i), r)...)
	}
	return append(errs, s.orderErrors()...)
}

func (s Spec) validateGatewayRule(p fieldpath.Path, r Rule) field.ErrorList {
	var errs field.ErrorList
	if r.Fault != nil {
		errs = append(errs, field.Forbidden(p.Child("fault").Field(), "Gateway API has no fault injection: use the Istio dialect"))
	}
	switch {
	case r.Retries != nil && r.Retries.Attempts > 0:
		errs = append(errs, field.Forbidden(p.Child("retries").Field(), "retries are experimental in Gateway API (not in the standard channel): leave them to the mesh's default, or use the Istio dialect"))
	case r.Retries != nil:
		// Turning retries off is the experimental retry field too: without
		// it Istio retries the route as it does any (2 attempts on connect
		// failures, refused streams and 503s).
		errs = append(errs, field.Forbidden(p.Child("retries").Field(), "the Gateway API's standard channel cannot turn retries off: Istio's default (2 attempts on connect failures, refused streams and 503) would apply; leave retries unset, or use the Istio dialect"))
	}
	for j, m := range r.Match {
		mp := p.Child("match").Index(j)
		if m.Port != 0 {
			errs = append(errs, field.Forbidden(mp.Child("port").Field(), "a Gateway API route attaches to ports, it does not match them"))
		}
		for _, k := range m.headerNames() {
			if m.Headers[k].Kind == MatchPrefix {
				errs = append(errs, field.Invalid(mp.Child("headers").Key(k).Field(), m.Headers[k].Value, "exact or regex: Gateway API has no header prefix match"))
			}
		}
		if u := m.URI; u != nil && u.Kind == MatchPrefix && u.Value != "/" && !strings.HasSuffix(u.Value, "/") {
			errs = append(errs, field.Invalid(mp.Child("uri").Field(), u.Value, "a prefix ending in \"/\": Gateway API prefixes match whole path segments, so \"/v1/models\" would also take \"/v1/models/x\" but not \"/v1/modelsx\""))
		}
		if u := m.URI; u != nil && u.Kind != MatchRegex {
			if why := gatewayPathProblem(u.Value); why != "" {
				errs = append(errs, field.Invalid(mp.Child("uri").Field(), u.Value, why))
			}
		}
	}
	if r.Timeout > maxGatewayDuration {
		errs = append(errs, field.Invalid(p.Child("timeout").Field(), r.Timeout.String(), "at most 99999h59m59.999s, the longest a Gateway API duration says"))
	}
	for j, d := range r.Split {
		if _, ok := serviceOf(d.Host); d.Host != "" && !ok {
			errs = append(errs, field.Invalid(p.Child("split").Index(j).Child("host").Field(), d.Host, "a Service of the cluster: Gateway API routes send to Services"))
		}
	}
	if h := r.Headers; h != nil {
		errs = append(errs, gatewayHeaderErrors(p.Child("headers").Child("request"), h.Request)...)
		errs = append(errs, gatewayHeaderErrors(p.Child("headers").Child("response"), h.Response)...)
	}
	for j, m := range r.Mirror {
		if _, ok := serviceOf(m.Host); m.Host != "" && !ok {
			errs = append(errs, field.Invalid(p.Child("mirror").Index(j).Child("host").Field(), m.Host, "a Service of the cluster: Gateway API routes mirror to Services"))
		}
	}
	return errs
}

func gatewayRoutes(s Spec) []*gatewayv1.HTTPRoute {
	ports := s.Ports
	if len(ports) == 0 {
		ports = []uint32{0}
	}
	names := GatewayRouteNames(s)
	out := make([]*gatewayv1.HTTPRoute, len(ports))
	for i, port := range ports {
		hr := &gatewayv1.HTTPRoute{
			TypeMeta:   metav1.TypeMeta{APIVersion: "gateway.networking.k8s.io/v1", Kind: "HTTPRoute"},
			ObjectMeta: s.meta(),
		}
		hr.Name = names[i]
		// One port without MatchPorts routes every port of the host to it,
		// as a VirtualService without a port match does: the route
		// attaches to the whole Service.
		parentPort := port
		if len(s.Ports) == 1 && !s.MatchPorts {
			parentPort = 0
		}
		hr.Spec.ParentRefs = s.parents(parentPort)
		hr.Spec.Hostnames = s.hostnames()
		for _, r := range s.Rules {
			hr.Spec.Rules = append(hr.Spec.Rules, s.httpRule(r, port))
		}
		out[i] = hr
	}
	return out
}

// parents are the routes' parentRefs: the host's Service on port (all its
// ports when 0), or the Gateways.
func (s Spec) parents(port uint32) []gatewayv1.ParentReference {
	if s.meshBound() {
		svc, _ := serviceOf(s.Host)
		ref := gatewayv1.ParentReference{Group: ptr(gatewayv1.Group("")), Kind: ptr(gatewayv1.Kind("Service")), Name: gatewayv1.ObjectName(svc)}
		if port != 0 {
			ref.Port = ptr(gatewayv1.PortNumber(port))
		}
		return []gatewayv1.ParentReference{ref}
	}
	var out []gatewayv1.ParentReference
	for _, g := range s.Gateways {
		ns, name, _ := strings.Cut(g, "/")
		out = append(out, gatewayv1.ParentReference{Namespace: ptr(gatewayv1.Namespace(ns)), Name: gatewayv1.ObjectName(name)})
	}
	return out
}

func (s Spec) hostnames() []gatewayv1.Hostname {
	if s.meshBound() {
		return nil
	}
	var out []gatewayv1.Hostname
	for _, h := range append([]string{s.Host}, s.Hosts...) {
		if h != "*" { // no hostnames: every host of the listener
			out = append(out, gatewayv1.Hostname(h))
		}
	}
	return out
}

func (s Spec) backend(host, subset string, port, rulePort uint32) gatewayv1.BackendObjectReference {
	if host == "" {
		host = s.Host
	}
	if port == 0 {
		port = rulePort
	}
	svc, _ := serviceOf(host)
	if subset != "" {
		svc = names.Deployment(svc, subset)
	}
	ref := gatewayv1.BackendObjectReference{Name: gatewayv1.ObjectName(svc)}
	if port != 0 {
		ref.Port = ptr(gatewayv1.PortNumber(port))
	}
	if ns := hostNamespace(host); ns != "" && ns != s.namespace() {
		ref.Namespace = ptr(gatewayv1.Namespace(ns))
	}
	return ref
}

// PoolGroup is the API group of InferencePools.
const PoolGroup = "inference.networking.k8s.io"

// pooled reports whether host's subsets are InferencePools (Spec.Pools).
func (s Spec) pooled(host string) bool {
	if host == "" {
		host = s.Host
	}
	return slices.Contains(s.Pools, host)
}

func (s Spec) namespace() string {
	if s.Namespace == "" {
		return "default"
	}
	return s.Namespace
}

// hostNamespace is the namespace of "m.ns.svc.cluster.local", or "".
func hostNamespace(host string) string {
	parts := strings.Split(host, ".")
	if len(parts) >= 3 && parts[2] == "svc" {
		return parts[1]
	}
	return ""
}

func (s Spec) backendRefs(r Rule, port uint32) []gatewayv1.BackendRef {
	var out []gatewayv1.BackendRef
	for _, d := range r.Split {
		w := d.Weight
		if len(r.Split) == 1 && w == 0 {
			w = 1 // the only destination takes every request
		}
		ref := s.backend(d.Host, d.Subset, d.Port, port)
		if s.pooled(d.Host) && d.Subset != "" {
			// The pool of that name: its own target port, no port here.
			ref.Group, ref.Kind, ref.Port = ptr(gatewayv1.Group(PoolGroup)), ptr(gatewayv1.Kind("InferencePool")), nil
		}
		out = append(out, gatewayv1.BackendRef{BackendObjectReference: ref, Weight: ptr(w)})
	}
	return out
}

func (s Spec) httpRule(r Rule, port uint32) gatewayv1.HTTPRouteRule {
	rule := gatewayv1.HTTPRouteRule{}
	for _, m := range r.Match {
		hm := gatewayv1.HTTPRouteMatch{}
		for _, k := range m.headerNames() {
			t := gatewayv1.HeaderMatchExact
			if m.Headers[k].Kind == MatchRegex {
				t = gatewayv1.HeaderMatchRegularExpression
			}
			hm.Headers = append(hm.Headers, gatewayv1.HTTPHeaderMatch{Type: ptr(t), Name: gatewayv1.HTTPHeaderName(k), Value: m.Headers[k].Value})
		}
		if u := m.URI; u != nil {
			t := map[MatchKind]gatewayv1.PathMatchType{MatchExact: gatewayv1.PathMatchExact, MatchPrefix: gatewayv1.PathMatchPathPrefix, MatchRegex: gatewayv1.PathMatchRegularExpression}[u.Kind]
			hm.Path = &gatewayv1.HTTPPathMatch{Type: ptr(t), Value: ptr(u.Value)}
		} else {
			// The API server's default, written out: a reader (Istio's
			// own, fed the objects) sees what the cluster stores.
			hm.Path = &gatewayv1.HTTPPathMatch{Type: ptr(gatewayv1.PathMatchPathPrefix), Value: ptr("/")}
		}
		rule.Matches = append(rule.Matches, hm)
	}
	for _, d := range s.backendRefs(r, port) {
		rule.BackendRefs = append(rule.BackendRefs, gatewayv1.HTTPBackendRef{BackendRef: d})
	}
	rule.Filters = append(rule.Filters, gatewayHeaderFilters(r.Headers)...)
	for _, m := range r.Mirror {
		rule.Filters = append(rule.Filters, gatewayv1.HTTPRouteFilter{
			Type:          gatewayv1.HTTPRouteFilterRequestMirror,
			RequestMirror: mirror(s.backend(m.Host, m.Subset, m.Port, port), m.Percent),
		})
	}
	if r.Timeout > 0 {
		rule.Timeouts = &gatewayv1.HTTPRouteTimeouts{Request: ptr(gatewayDuration(r.Timeout))}
	}
	return rule
}

// mirror is a RequestMirror filter of percent of the requests: a whole
// percent, or a fraction in millionths, as Istio's mirrorPercentage.
func mirror(ref gatewayv1.BackendObjectReference, percent float64) *gatewayv1.HTTPRequestMirrorFilter {
	f := &gatewayv1.HTTPRequestMirrorFilter{BackendRef: ref}
	switch {
	case percent == 0 || percent == 100:
		// every request
	case percent == math.Trunc(percent):
		f.Percent = ptr(int32(percent))
	default:
		f.Fraction = &gatewayv1.Fraction{Numerator: int32(math.Round(percent * 1e4)), Denominator: ptr(int32(1e6))}
	}
	return f
}

// gatewayDuration writes d as Gateway API's Duration (GEP-2257): whole
// seconds, or milliseconds.
func gatewayDuration(d time.Duration) gatewayv1.Duration {
	switch {
	case d%time.Second == 0 && d/time.Second <= maxDurationPart:
		return gatewayv1.Duration(strconv.FormatInt(int64(d/time.Second), 10) + "s")
	case d/time.Millisecond <= maxDurationPart:
		return gatewayv1.Duration(fmt.Sprintf("%dms", d/time.Millisecond))
	}
	// Longer: hours, minutes, seconds and milliseconds, as GEP-2257
	// allows at most five digits a part ("27h46m40s", "1h1m1s1ms").
	var b strings.Builder
	for _, part := range []struct {
		unit time.Duration
		name string
	}{{time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}, {time.Millisecond, "ms"}} {
		if n := d / part.unit; n > 0 {
			b.WriteString(strconv.FormatInt(int64(n), 10) + part.name)
			d -= n * part.unit
		}
	}
	return gatewayv1.Duration(b.String())
}

// maxDurationPart is the largest number one part of a Gateway API
// Duration may hold (GEP-2257: at most five digits).
const maxDurationPart = 99999

// maxGatewayDuration is the longest duration a Gateway API Duration holds.
const maxGatewayDuration = maxDurationPart*time.Hour + 59*time.Minute + 59*time.Second + 999*time.Millisecond

func ptr[T any](v T) *T { return &v }

// headerNames returns the names of the headers m matches, in lexical order.
func (m Match) headerNames() []string {
	names := make([]string, 0, len(m.Headers))
	for h := range m.Headers {
		names = append(names, h)
	}
	slices.Sort(names)
	return names
}

// precedence is the order in which Istio evaluates a Gateway API route's
// matches (after the Gateway API's rules): exact paths, then prefixes,
// then regular expressions; longer paths first; then more headers. The
// Istio dialect evaluates rules as written.
type precedence struct{ rank, length, headers int }

func matchPrecedence(m Match) precedence {
	p := precedence{rank: 2, length: 1, headers: len(m.Headers)} // the path "/" written out
	if u := m.URI; u != nil {
		switch u.Kind {
		case MatchExact:
			p.rank, p.length = 3, len(u.Value)
		case MatchPrefix:
			v := u.Value
			if v != "/" {
				v = strings.TrimSuffix(v, "/") // as Istio reads a PathPrefix
			}
			p.length = len(v)
		case MatchRegex:
			p.rank, p.length = 1, len(u.Value)
		}
	}
	return p
}

// first reports whether Istio evaluates a match of precedence a before one
// of b.
func (a precedence) first(b precedence) bool {
	switch {
	case a.rank != b.rank:
		return a.rank > b.rank
	case a.length != b.length:
		return a.length > b.length
	}
	return a.headers > b.headers
}

// overlap reports whether a request can match both a and b, erring on
// the side of yes: regular expressions are taken to match anything.
func overlap(a, b Match) bool {
	path := func(m Match) StringMatch {
		if m.URI == nil {
			return StringMatch{Kind: MatchPrefix, Value: "/"}
		}
		return *m.URI
	}
	pa, pb := path(a), path(b)
	switch {
	case pa.Kind == MatchRegex || pb.Kind == MatchRegex:
	case pa.Kind == MatchExact && pb.Kind == MatchExact:
		if pa.Value != pb.Value {
			return false
		}
	case pa.Kind == MatchExact:
		if !strings.HasPrefix(pa.Value, pb.Value) {
			return false
		}
	case pb.Kind == MatchExact:
		if !strings.HasPrefix(pb.Value, pa.Value) {
			return false
		}
	default:
		if !strings.HasPrefix(pa.Value, pb.Value) && !strings.HasPrefix(pb.Value, pa.Value) {
			return false
		}
	}
	for name, ha := range a.Headers {
		if hb, ok := b.Headers[name]; ok && ha.Kind == MatchExact && hb.Kind == MatchExact && ha.Value != hb.Value {
			return false
		}
	}
	return true
}

// jumpsAhead returns the first rule before rule j with a match that m of
// rule j would be evaluated before and that a request can match too.
func (s Spec) jumpsAhead(j int, m Match) (int, bool) {
	p := matchPrecedence(m)
	for i := 0; i < j; i++ {
		for _, mi := range s.Rules[i].Match {
			if p.first(matchPrecedence(mi)) && overlap(mi, m) {
				return i, true
			}
		}
	}
	return 0, false
}

// orderErrors reports a match that Istio would evaluate, in the Gateway
// API dialect, before a match of an earlier rule that a request can also
// match: the rules would no longer be evaluated as written.
func (s Spec) orderErrors() field.ErrorList {
	var errs field.ErrorList
	for j, rj := range s.Rules {
		for k, mj := range rj.Match {
			if i, ok := s.jumpsAhead(j, mj); ok {
				errs = append(errs, field.Invalid(fieldpath.New("rules").Index(j).Child("match").Index(k).Field(), field.OmitValueType{}, fmt.Sprintf(
					"Gateway API evaluates this match before rules[%d]'s (exact paths, then longer prefixes, then more headers go first) and a request can match both: put this rule first, or use the Istio dialect", i)))
			}
		}
	}
	return errs
}

// gatewayPath is what an HTTPRoute's exact or prefix path may hold (its
// CRD's pattern): URI path characters, and others percent-encoded.
var gatewayPath = regexp.MustCompile(`^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|[%][0-9a-fA-F]{2})+$`)

// gatewayPathProblem says why the Gateway API's CRD refuses an exact or
// prefix path, or "" when it accepts it.
func gatewayPathProblem(path string) string {
	switch {
	case !gatewayPath.MatchString(path):
		return "URI path characters only (A-Z a-z 0-9 - . _ ~ ! $ & ' ( ) * + , ; = : @ /), others percent-encoded: the Gateway API's HTTPRoute refuses the rest"
	case strings.Contains(path, "//"), strings.Contains(path, "/./"), strings.Contains(path, "/../"),
		strings.HasSuffix(path, "/.."), strings.HasSuffix(path, "/."):
		return "a normalized path (no \"//\", \"/./\" or \"/../\" and no trailing \"/.\" or \"/..\"): the Gateway API's HTTPRoute refuses it"
	case strings.Contains(strings.ToLower(path), "%2f"), strings.Contains(path, "#"):
		return "no encoded slash (%2F) and no \"#\": the Gateway API's HTTPRoute refuses them"
	}
	return ""
}
