package routing

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/mlmesh/mlmesh/internal/check"
	"github.com/mlmesh/mlmesh/internal/fielderr"
	"github.com/mlmesh/mlmesh/internal/fieldpath"
)

// Validate reports every problem in s at once, as a *ValidationError, or nil.
func (s Spec) Validate() error {
	return fielderr.New("routing.Spec", s.validate(nil))
}

// validate checks s; c, when not nil, skips the rules and the policy it
// remembers as valid, and remembers them when they are.
func (s Spec) validate(c *Checker) field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, check.Name(fieldpath.New("name"), s.Name)...)
	if s.Namespace != "" {
		errs = append(errs, check.Label(fieldpath.New("namespace"), s.Namespace)...)
	}
	mesh := s.boundToMesh()
	// A VirtualService bound only to gateways may answer for a wildcard; its
	// destinations must then name their hosts.
	errs = append(errs, check.Host(fieldpath.New("host"), s.Host, !mesh, !mesh)...)
	for i, h := range s.Hosts {
		p := fieldpath.New("hosts").Index(i)
		errs = append(errs, check.Host(p, h, true, !mesh)...)
		if h == "*" && mesh {
			errs = append(errs, field.Invalid(p.Field(), h, "the wildcard * is not allowed for a VirtualService bound to the mesh"))
		}
		// Specs have few hosts, ports and subsets: looking back through
		// the earlier ones beats a map.
		if h == s.Host || slices.Contains(s.Hosts[:i], h) {
			errs = append(errs, field.Duplicate(p.Field(), h))
		} else if prev := overlapping(h, s.Host, s.Hosts[:i]); prev != "" {
			errs = append(errs, field.Invalid(p.Field(), h, fmt.Sprintf("overlaps %q, already a host of this VirtualService: Istio refuses hosts that match each other", prev)))
		}
	}
	errs = append(errs, validateGateways(s.Gateways)...)
	for i, port := range s.Ports {
		pp := fieldpath.New("ports").Index(i)
		if port == 0 {
			errs = append(errs, field.Invalid(pp.Field(), port, "a port number between 1 and 65535"))
		}
		errs = append(errs, validPort(pp, port)...)
		if slices.Contains(s.Ports[:i], port) {
			errs = append(errs, field.Duplicate(pp.Field(), port))
		}
	}

	if s.MatchPorts && len(s.Ports) == 0 {
		errs = append(errs, field.Required(fieldpath.New("ports").Field(), "matchPorts needs the ports to match"))
	}
	for i, port := range s.GRPCPorts {
		if !slices.Contains(s.Ports, port) {
			errs = append(errs, field.Invalid(fieldpath.New("grpcPorts").Index(i).Field(), port, "one of ports"))
		}
	}

	for i, sub := range s.Subsets {
		p := fieldpath.New("subsets").Index(i)
		errs = append(errs, check.Name(p.Child("name"), sub.Name)...)
		if s.hasSubset(sub.Name, i) {
			errs = append(errs, field.Duplicate(p.Child("name").Field(), sub.Name))
		}
		errs = append(errs, check.Labels(p.Child("labels"), sub.Labels)...)
	}

	if len(s.Rules) == 0 {
		errs = append(errs, field.Required(fieldpath.New("rules").Field(), "at least one rule, or nothing is routed"))
	}
	if !c.validRules(&s) {
		rerrs := s.validateRules()
		errs = append(errs, rerrs...)
		if len(rerrs) == 0 {
			c.rememberRules(&s)
		}
	}
	if s.Policy != nil && !c.validPolicy(s.Policy) {
		perrs := s.Policy.validate(fieldpath.New("policy"))
		errs = append(errs, perrs...)
		if len(perrs) == 0 {
			c.rememberPolicy(s.Policy)
		}
	}
	errs = append(errs, check.ExportTo(fieldpath.New("exportTo"), s.ExportTo, orDefault(s.Namespace))...)
	errs = append(errs, check.Labels(fieldpath.New("labels"), s.Labels)...)
	return errs
}

// validateRules checks the rules, each alone and together.
func (s Spec) validateRules() field.ErrorList {
	var errs field.ErrorList
	for i, r := range s.Rules {
		p := fieldpath.New("rules").Index(i)
		if len(r.Match) == 0 && i < len(s.Rules)-1 {
			errs = append(errs, field.Invalid(p.Child("match").Field(), field.OmitValueType{},
				fmt.Sprintf("rule %d matches every request, so the %d rule(s) after it are unreachable; only the last rule may have no match", i, len(s.Rules)-1-i)))
		}
		errs = append(errs, s.validateRule(p, r)...)
	}
	errs = append(errs, duplicateMatches(s.Rules)...)
	errs = append(errs, coveredPrefixes(s.Rules)...)
	return errs
}

// multiPort reports whether s routes several ports, each matched apart.
func (s *Spec) multiPort() bool { return len(s.Ports) > 1 || s.MatchPorts }

// validateGateways checks each gateway is "mesh", a name, or
// "namespace/name", and none is listed twice.
func validateGateways(gateways []string) field.ErrorList {
	var errs field.ErrorList
	for i, g := range gateways {
		p := fieldpath.New("gateways").Index(i)
		if slices.Contains(gateways[:i], g) {
			errs = append(errs, field.Duplicate(p.Field(), g))
		}
		if g == "mesh" {
			continue
		}
		ns, name, ok := strings.Cut(g, "/")
		if !ok {
			ns, name = "", g
		}
		if ns != "" {
			errs = append(errs, check.Label(p, ns)...)
		} else if ok {
			errs = append(errs, field.Invalid(p.Field(), g, `"mesh", a gateway name, or "namespace/name"`))
		}
		if name == "" {
			errs = append(errs, field.Invalid(p.Field(), g, `"mesh", a gateway name, or "namespace/name"`))
		} else {
			for _, msg := range check.DNS1123Subdomain(name) {
				errs = append(errs, field.Invalid(p.Field(), g, msg))
			}
		}
	}
	return errs
}

func (s Spec) boundToMesh() bool {
	if len(s.Gateways) == 0 {
		return true
	}
	for _, g := range s.Gateways {
		if g == "mesh" {
			return true
		}
	}
	return false
}

func validPort(p fieldpath.Path, port uint32) field.ErrorList {
	if port == 0 {
		return nil
	}
	if port > 65535 {
		return field.ErrorList{field.Invalid(p.Field(), port, "a port number between 1 and 65535")}
	}
	return nil
}

func (s Spec) validateRule(p fieldpath.Path, r Rule) field.ErrorList {
	var errs field.ErrorList
	if r.Name != "" {
		errs = append(errs, check.Label(p.Child("name"), r.Name)...)
	}
	for j, m := range r.Match {
		errs = append(errs, s.validateMatch(p.Child("match").Index(j), m)...)
	}
	errs = append(errs, s.validateSplit(p.Child("split"), r.Split)...)
	for k, m := range r.Mirror {
		mp := p.Child("mirror").Index(k)
		errs = append(errs, s.validateDest(mp, m.Host, m.Subset, m.Port)...)
		errs = append(errs, check.Percent(mp.Child("percent"), m.Percent)...)
	}
	errs = append(errs, check.Duration(p.Child("timeout"), r.Timeout)...)
	if r.Retries != nil {
		errs = append(errs, r.Retries.validate(p.Child("retries"))...)
	}
	if r.Fault != nil {
		errs = append(errs, r.Fault.validate(p.Child("fault"))...)
	}
	if r.Headers != nil {
		errs = append(errs, r.Headers.validate(p.Child("headers"))...)
	}
	return errs
}

func (s Spec) validateMatch(mp fieldpath.Path, m Match) field.ErrorList {
	var errs field.ErrorList
	if m.Name != "" {
		errs = append(errs, check.Label(mp.Child("name"), m.Name)...)
	}
	if len(m.Headers) == 0 && m.URI == nil && m.Port == 0 {
		errs = append(errs, field.Required(mp.Field(), "a header, URI or port condition; leave match empty to match every request"))
	}
	errs = append(errs, validPort(mp.Child("port"), m.Port)...)
	if m.Port != 0 && s.multiPort() {
		errs = append(errs, field.Invalid(mp.Child("port").Field(), m.Port, "the spec routes several ports, so each rule is already matched per port"))
	}
	for _, h := range m.headerNames() {
		hp := mp.Child("headers").Key(h)
		if msgs := check.HTTPHeaderName(h); len(msgs) > 0 {
			errs = append(errs, field.Invalid(hp.Field(), h, "an HTTP header name: "+strings.Join(msgs, "; ")))
		} else if len(h) > check.MaxKey {
			errs = append(errs, field.TooLong(hp.Field(), field.OmitValueType{}, check.MaxKey))
		} else if h != strings.ToLower(h) {
			errs = append(errs, field.Invalid(hp.Field(), h, "a lowercase header name (HTTP/2 and Envoy compare lowercase names)"))
		}
		errs = append(errs, m.Headers[h].validate(hp)...)
	}
	if m.URI != nil {
		errs = append(errs, m.URI.validate(mp.Child("uri"))...)
		if m.URI.Kind != MatchRegex && m.URI.Value != "" && !strings.HasPrefix(m.URI.Value, "/") {
			errs = append(errs, field.Invalid(mp.Child("uri").Child("value").Field(), m.URI.Value, "a path starting with /"))
		}
	}
	return errs
}

func (s Spec) validateSplit(sp fieldpath.Path, split []Destination) field.ErrorList {
	var errs field.ErrorList
	switch len(split) {
	case 0:
		errs = append(errs, field.Required(sp.Field(), "at least one destination"))
	case 1:
		if w := split[0].Weight; w != 0 && w != 100 {
			errs = append(errs, field.Invalid(sp.Index(0).Child("weight").Field(), w, "a single destination takes all traffic: leave weight 0 or set 100"))
		}
	default:
		sum := 0
		for k, d := range split {
			if d.Weight < 0 || d.Weight > 100 {
				errs = append(errs, field.Invalid(sp.Index(k).Child("weight").Field(), d.Weight, "a percentage between 0 and 100"))
			}
			sum += int(d.Weight)
		}
		if sum != 100 {
			errs = append(errs, field.Invalid(sp.Field(), field.OmitValueType{}, fmt.Sprintf("weights sum to %d, want 100", sum)))
		}
	}
	for k, d := range split {
		dp := sp.Index(k)
		if d.Host == "" && strings.HasPrefix(s.Host, "*") {
			errs = append(errs, field.Required(dp.Child("host").Field(), "the spec's host is a wildcard, so each destination names its service"))
		}
		errs = append(errs, s.validateDest(dp, d.Host, d.Subset, d.Port)...)
		// Splits are short: comparing with the earlier ones beats a map.
		for prev, e := range split[:k] {
			if s.sameDest(d, e) {
				errs = append(errs, fielderr.Duplicate(dp.Field(), describeDest(d), fmt.Sprintf("split[%d]", prev)))
				break
			}
		}
	}
	return errs
}

func (r *Retries) validate(rp fieldpath.Path) field.ErrorList {
	var errs field.ErrorList
	if r.Attempts < 0 {
		errs = append(errs, field.Invalid(rp.Child("attempts").Field(), r.Attempts, "0 or more"))
	}
	errs = append(errs, check.Duration(rp.Child("perTryTimeout"), r.PerTryTimeout)...)
	for k, cond := range r.RetryOn {
		if !validRetryOn(cond) {
			errs = append(errs, field.NotSupported(rp.Child("retryOn").Index(k).Field(), cond, retryPolicies))
		}
	}
	if r.Attempts == 0 && (r.PerTryTimeout != 0 || len(r.RetryOn) > 0) {
		errs = append(errs, field.Invalid(rp.Child("attempts").Field(), 0, "perTryTimeout and retryOn need attempts above 0"))
	}
	return errs
}

func (f *Fault) validate(fp fieldpath.Path) field.ErrorList {
	var errs field.ErrorList
	if f.Delay == nil && f.Abort == nil {
		errs = append(errs, field.Required(fp.Field(), "a delay or an abort"))
	}
	if d := f.Delay; d != nil {
		if d.Fixed <= 0 {
			errs = append(errs, field.Required(fp.Child("delay").Child("fixed").Field(), "a delay of at least 1ms"))
		} else {
			errs = append(errs, check.Duration(fp.Child("delay").Child("fixed"), d.Fixed)...)
		}
		errs = append(errs, check.Percent(fp.Child("delay").Child("percent"), d.Percent)...)
	}
	if a := f.Abort; a != nil {
		ap := fp.Child("abort")
		if a.HTTPStatus == 0 && a.GRPCStatus == "" {
			errs = append(errs, field.Required(ap.Child("httpStatus").Field(), "an HTTP or gRPC status to answer with"))
		}
		if a.HTTPStatus != 0 && (a.HTTPStatus < 200 || a.HTTPStatus > 599) {
			errs = append(errs, field.Invalid(ap.Child("httpStatus").Field(), a.HTTPStatus, "an HTTP status between 200 and 599"))
		}
		if a.GRPCStatus != "" && !grpcStatuses.Has(a.GRPCStatus) {
			errs = append(errs, field.NotSupported(ap.Child("grpcStatus").Field(), a.GRPCStatus, sets.List(grpcStatuses)))
		}
		errs = append(errs, check.Percent(ap.Child("percent"), a.Percent)...)
	}
	return errs
}

// sameDest reports whether two destinations send to the same place (an
// empty host is the spec's).
func (s Spec) sameDest(a, b Destination) bool {
	ha, hb := a.Host, b.Host
	if ha == "" {
		ha = s.Host
	}
	if hb == "" {
		hb = s.Host
	}
	return ha == hb && a.Subset == b.Subset && a.Port == b.Port
}

func (s Spec) validateDest(p fieldpath.Path, host, subset string, port uint32) field.ErrorList {
	var errs field.ErrorList
	if host != "" {
		errs = append(errs, check.Host(p.Child("host"), host, false, false)...)
	}
	if subset != "" {
		if msgs := check.DNS1123Label(subset); len(msgs) > 0 {
			errs = append(errs, field.Invalid(p.Child("subset").Field(), subset, strings.Join(msgs, "; ")))
		} else if (host == "" || host == s.Host) && !s.hasSubset(subset, len(s.Subsets)) {
			fe := field.NotFound(p.Child("subset").Field(), subset)
			fe.Detail = "want one of the subsets " + quoted(s.subsetNames())
			errs = append(errs, fe)
		}
	}
	errs = append(errs, validPort(p.Child("port"), port)...)
	return errs
}

// hasSubset reports whether one of the first n subsets is named name.
func (s Spec) hasSubset(name string, n int) bool {
	return slices.ContainsFunc(s.Subsets[:n], func(sub Subset) bool { return sub.Name == name })
}

// subsetNames are the subsets' names, sorted, each once.
func (s Spec) subsetNames() []string {
	names := make([]string, len(s.Subsets))
	for i, sub := range s.Subsets {
		names[i] = sub.Name
	}
	slices.Sort(names)
	return slices.Compact(names)
}

func quoted(list []string) string {
	if len(list) == 0 {
		return "(none defined)"
	}
	return `"` + strings.Join(list, `", "`) + `"`
}

// maxRegex is the longest regex Istio accepts.
const maxRegex = 1024

func (m StringMatch) validate(p fieldpath.Path) field.ErrorList {
	var errs field.ErrorList
	switch m.Kind {
	case MatchExact, MatchPrefix:
		if m.Value == "" {
			errs = append(errs, field.Required(p.Child("value").Field(), fmt.Sprintf("a non-empty %s value", m.Kind)))
		}
	case MatchRegex:
		if m.Value == "" {
			errs = append(errs, field.Required(p.Child("value").Field(), "a non-empty RE2 regex"))
		} else if len(m.Value) > maxRegex {
			errs = append(errs, field.TooLong(p.Child("value").Field(), field.OmitValueType{}, maxRegex))
		} else if _, err := regexp.Compile(m.Value); err != nil {
			errs = append(errs, field.Invalid(p.Child("value").Field(), m.Value, "a valid RE2 regex: "+strings.TrimPrefix(err.Error(), "error parsing regexp: ")))
		}
	default:
		errs = append(errs, field.NotSupported(p.Child("kind").Field(), m.Kind, []MatchKind{MatchExact, MatchPrefix, MatchRegex}))
	}
	if strings.ContainsAny(m.Value, "\x00\r\n") {
		errs = append(errs, field.Invalid(p.Child("value").Field(), m.Value, "no NUL, CR or LF characters"))
	}
	return errs
}

// duplicateMatches rejects a match that repeats one in an earlier rule: the
// later one could never take a request.
func duplicateMatches(rules []Rule) field.ErrorList {
	n := 0
	for _, r := range rules {
		n += len(r.Match)
	}
	if n < 2 {
		return nil
	}
	var errs field.ErrorList
	seen := map[string][2]int{}
	for i, r := range rules {
		for j, m := range r.Match {
			k := m.key()
			if prev, ok := seen[k]; ok {
				p := fieldpath.New("rules").Index(i).Child("match").Index(j)
				at := fmt.Sprintf("rules[%d].match[%d]", prev[0], prev[1])
				errs = append(errs, field.Invalid(p.Field(), field.OmitValueType{}, "the same conditions as "+at+", which takes every request this one would: unreachable"))
				continue
			}
			seen[k] = [2]int{i, j}
		}
	}
	return errs
}

func (m Match) key() string {
	var b strings.Builder
	for _, h := range m.headerNames() {
		b.WriteString("h:" + strconv.Quote(h) + "=" + string(m.Headers[h].Kind) + ":" + strconv.Quote(m.Headers[h].Value) + ";")
	}
	if m.URI != nil {
		b.WriteString("u:" + string(m.URI.Kind) + ":" + strconv.Quote(m.URI.Value) + ";")
	}
	if m.Port != 0 {
		b.WriteString("p:" + strconv.Itoa(int(m.Port)))
	}
	return b.String()
}

var retryPolicies = []string{
	"5xx", "gateway-error", "reset", "reset-before-request", "connect-failure", "envoy-ratelimited",
	"retriable-4xx", "refused-stream", "retriable-status-codes", "retriable-headers", "http3-post-connect-failure",
	"cancelled", "deadline-exceeded", "internal", "resource-exhausted", "unavailable",
}

func validRetryOn(s string) bool {
	for _, p := range retryPolicies {
		if s == p {
			return true
		}
	}
	// A status code, as Istio reads one: a number Go's net/http knows.
	n, err := strconv.Atoi(s)
	return err == nil && strconv.Itoa(n) == s && http.StatusText(n) != ""
}

var grpcStatuses = sets.New("OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
	"ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
	"UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED")

func (tp *TrafficPolicy) validate(p fieldpath.Path) field.ErrorList {
	var errs field.ErrorList
	if *tp == (TrafficPolicy{}) {
		errs = append(errs, field.Required(p.Field(), "a policy sets at least one field; leave it nil for none"))
	}
	errs = append(errs, tp.validateTLS(p)...)
	if c := tp.ConnectionPool; c != nil {
		cp := p.Child("connectionPool")
		if *c == (ConnectionPool{}) {
			errs = append(errs, field.Required(cp.Field(), "a connection pool sets at least one cap; leave it nil for none"))
		}
		for name, v := range map[string]int32{"maxConnections": c.MaxConnections, "maxPendingRequests": c.MaxPendingRequests,
			"maxRequests": c.MaxRequests, "maxRequestsPerConnection": c.MaxRequestsPerConnection, "maxRetries": c.MaxRetries} {
			if v < 0 {
				errs = append(errs, field.Invalid(cp.Child(name).Field(), v, "0 (Envoy's default) or more"))
			}
		}
		errs = check.Sorted(errs)
		errs = append(errs, check.Duration(cp.Child("connectTimeout"), c.ConnectTimeout)...)
		errs = append(errs, check.Duration(cp.Child("idleTimeout"), c.IdleTimeout)...)
	}
	if o := tp.OutlierDetection; o != nil {
		op := p.Child("outlierDetection")
		errs = append(errs, check.Duration(op.Child("interval"), o.Interval)...)
		errs = append(errs, check.Duration(op.Child("baseEjectionTime"), o.BaseEjectionTime)...)
		if o.MaxEjectionPercent < 0 || o.MaxEjectionPercent > 100 {
			errs = append(errs, field.Invalid(op.Child("maxEjectionPercent").Field(), o.MaxEjectionPercent, "a percentage between 0 and 100"))
		}
	}
	if lb := tp.LoadBalancer; lb != nil {
		lp := p.Child("loadBalancer")
		n := 0
		if lb.Simple != "" {
			n++
			switch lb.Simple {
			case LeastRequest, RoundRobin, Random:
			default:
				errs = append(errs, field.NotSupported(lp.Child("simple").Field(), lb.Simple, []SimpleLB{LeastRequest, RoundRobin, Random}))
			}
		}
		if lb.HashHeader != "" {
			n++
			if msgs := check.HTTPHeaderName(lb.HashHeader); len(msgs) > 0 {
				errs = append(errs, field.Invalid(lp.Child("hashHeader").Field(), lb.HashHeader, strings.Join(msgs, "; ")))
			}
		}
		if c := lb.HashCookie; c != nil {
			n++
			if c.Name == "" {
				errs = append(errs, field.Required(lp.Child("hashCookie").Child("name").Field(), ""))
			} else if msgs := check.HTTPHeaderName(c.Name); len(msgs) > 0 {
				errs = append(errs, field.Invalid(lp.Child("hashCookie").Child("name").Field(), c.Name, "a cookie name: "+strings.Join(msgs, "; ")))
			}
			if c.TTL < 0 {
				errs = append(errs, field.Invalid(lp.Child("hashCookie").Child("ttl").Field(), c.TTL.String(), "0 or more"))
			}
		}
		if lb.HashSourceIP {
			n++
		}
		if n != 1 && !(n == 0 && len(lb.Failover) > 0) {
			errs = append(errs, field.Invalid(lp.Field(), field.OmitValueType{}, fmt.Sprintf("exactly one of simple, hashHeader, hashCookie and hashSourceIP, got %d", n)))
		}
		errs = append(errs, tp.validateFailover(p)...)
	}
	return errs
}

// validateFailover checks locality failover (the policy at p): regions
// named, each from a region to another, once each, and the outlier
// detection Istio needs.
func (tp *TrafficPolicy) validateFailover(tpp fieldpath.Path) field.ErrorList {
	fo := tp.LoadBalancer.Failover
	if len(fo) == 0 {
		return nil
	}
	p := tpp.Child("loadBalancer").Child("failover")
	var errs field.ErrorList
	if tp.OutlierDetection == nil {
		errs = append(errs, field.Required(tpp.Child("outlierDetection").Field(), "locality failover needs outlier detection: Istio fails over only from pods it has ejected"))
	}
	from := map[string]bool{}
	for i, f := range fo {
		ip := p.Index(i)
		switch {
		case f.From == "":
			errs = append(errs, field.Required(ip.Child("from").Field(), "the region that fails over"))
		case from[f.From]:
			errs = append(errs, field.Duplicate(ip.Child("from").Field(), f.From))
		}
		from[f.From] = true
		switch {
		case f.To == "":
			errs = append(errs, field.Required(ip.Child("to").Field(), "the region it fails over to"))
		case f.To == f.From:
			errs = append(errs, field.Invalid(ip.Child("to").Field(), f.To, "a region fails over to another"))
		}
	}
	return errs
}

// validateTLS checks the TLS mode and the files SIMPLE and MUTUAL need, as
// Istio's validation and analyzers (IST0128) ask.
func (tp *TrafficPolicy) validateTLS(p fieldpath.Path) field.ErrorList {
	var errs field.ErrorList
	tp2 := p.Child("tls")
	switch tp.TLS {
	case "", TLSIstioMutual, TLSDisable:
		for _, f := range [...]struct{ name, value string }{
			{"caCertificates", tp.CACertificates}, {"clientCertificate", tp.ClientCertificate}, {"privateKey", tp.PrivateKey}, {"sni", tp.SNI},
		} {
			if f.value != "" {
				errs = append(errs, field.Forbidden(p.Child(f.name).Field(), fmt.Sprintf("only TLS modes SIMPLE and MUTUAL use it, not %q", tp.TLS)))
			}
		}
		return errs
	case TLSSimple, TLSMutual:
	default:
		return field.ErrorList{field.NotSupported(tp2.Field(), tp.TLS, []TLSMode{TLSIstioMutual, TLSDisable, TLSSimple, TLSMutual})}
	}
	if tp.CACertificates == "" {
		errs = append(errs, field.Required(p.Child("caCertificates").Field(), fmt.Sprintf("TLS %s must verify the server: the file of its certificate authorities", tp.TLS)))
	}
	if tp.TLS == TLSMutual {
		if tp.ClientCertificate == "" {
			errs = append(errs, field.Required(p.Child("clientCertificate").Field(), "MUTUAL TLS presents a client certificate: its file"))
		}
		if tp.PrivateKey == "" {
			errs = append(errs, field.Required(p.Child("privateKey").Field(), "MUTUAL TLS presents a client certificate: the file of its key"))
		}
	} else {
		for _, f := range [...]struct{ name, value string }{{"clientCertificate", tp.ClientCertificate}, {"privateKey", tp.PrivateKey}} {
			if f.value != "" {
				errs = append(errs, field.Forbidden(p.Child(f.name).Field(), "only MUTUAL TLS presents a client certificate"))
			}
		}
	}
	if tp.SNI != "" {
		errs = append(errs, check.Host(p.Child("sni"), tp.SNI, false, false)...)
	}
	return check.Sorted(errs)
}

func orDefault(ns string) string {
	if ns == "" {
		return "default"
	}
	return ns
}

// overlapping returns the first of host and earlier that h overlaps.
func overlapping(h, host string, earlier []string) string {
	for _, e := range append([]string{host}, earlier...) {
		if e != h && check.HostsOverlap(e, h) {
			return e
		}
	}
	return ""
}

// coveredPrefixes rejects a URI prefix match that an earlier rule's prefix
// match already takes, as Istio's validation warns (IST0131): /v1 before
// /v1/models with the same port and headers. It follows Istio's own rule
// (coveredValidation): the same port, as many headers, each of the earlier
// match's headers in the later one with a value the earlier's starts with.
func coveredPrefixes(rules []Rule) field.ErrorList {
	type prefixMatch struct {
		rule, match int
		m           Match
	}
	var prefixes []prefixMatch
	for i, r := range rules {
		for j, m := range r.Match {
			if m.URI != nil && m.URI.Kind == MatchPrefix {
				prefixes = append(prefixes, prefixMatch{i, j, m})
			}
		}
	}
	var errs field.ErrorList
	for b, later := range prefixes {
		for _, earlier := range prefixes[:b] {
			if !covers(earlier.m, later.m) { // within one rule too, as Istio judges
				continue
			}
			p := fieldpath.New("rules").Index(later.rule).Child("match").Index(later.match).Child("uri")
			errs = append(errs, field.Invalid(p.Field(), later.m.URI.Value, fmt.Sprintf(
				"rules[%d].match[%d] (prefix %q) takes every request this match would: unreachable; put the longer prefix first",
				earlier.rule, earlier.match, earlier.m.URI.Value)))
			break
		}
	}
	return errs
}

// covers reports whether prefix match a, earlier, covers b as Istio judges.
func covers(a, b Match) bool {
	if a.URI.Value == b.URI.Value || !strings.HasPrefix(b.URI.Value, a.URI.Value) || a.Port != b.Port || len(a.Headers) != len(b.Headers) {
		return false
	}
	value := func(m StringMatch) string {
		if m.Kind == MatchRegex {
			return ""
		}
		return string(m.Kind) + ":" + m.Value
	}
	for h, av := range a.Headers {
		bv, ok := b.Headers[h]
		if !ok || value(av) != value(bv) && !strings.HasPrefix(value(av), value(bv)) {
			return false
		}
	}
	return true
}

// describeDest names a destination in messages: "v2", "v2 of other-host",
// "v2 port 8501".
func describeDest(d Destination) string {
	s := d.Subset
	if s == "" {
		s = "all pods"
	}
	if d.Host != "" {
		s += " of " + d.Host
	}
	if d.Port != 0 {
		s += fmt.Sprintf(" port %d", d.Port)
	}
	return s
}
