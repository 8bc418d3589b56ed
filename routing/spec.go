package routing

import (
	"slices"
	"sort"
	"time"

	"github.com/mlmesh/mlmesh"
)

// ValidationError reports every problem in a spec, each with its field path.
// Its Unwrap method returns each problem as a *field.Error
// (k8s.io/apimachinery/pkg/util/validation/field).
type ValidationError = mlmesh.ValidationError

// Spec is how traffic for one host reaches the versions behind it. It builds
// into a VirtualService (the rules) and a DestinationRule (the subsets and the
// traffic policy), both named Name in Namespace.
type Spec struct {
	// Name names the VirtualService and the DestinationRule. A DNS-1123
	// label. Required.
	Name string
	// Namespace is where both objects go; empty means "default".
	Namespace string
	// Host is the service routed to: a short name resolved in Namespace or,
	// better, its FQDN (name.namespace.svc.cluster.local). It is the
	// DestinationRule's host, the VirtualService's first host and the
	// default host of every destination. Required.
	Host string
	// Hosts are more hosts the VirtualService answers for, such as the
	// hostnames a gateway serves.
	Hosts []string
	// Gateways binds the VirtualService as Istio does: empty means the mesh
	// (sidecars) only; "mesh" names the sidecars beside gateways given as
	// "namespace/name" or a name in Namespace.
	Gateways []string
	// Ports are the Service ports routed. Empty routes without naming a
	// port, which suits a single-port Service. One port pins every
	// destination that names none to it. Several repeat each rule once per
	// port, in order, matching requests on that port and sending them to the
	// same port: a Service with an HTTP and a gRPC port is routed by the same
	// rules on both. (Istio requires a destination port when the Service has
	// several.)
	Ports []uint32
	// MatchPorts matches every rule on its port even when Ports has only
	// one. A VirtualService's rules apply to every port of the host unless
	// they match one, so a Service with ports that are not routed (metrics,
	// management) needs it; with several Ports rules always match theirs.
	MatchPorts bool
	// GRPCPorts lists the ports of Ports that serve gRPC. A fault's abort
	// on such a port answers with a gRPC status: Abort.GRPCStatus, or, when
	// only Abort.HTTPStatus is set, the status gRPC maps it to (see Abort).
	GRPCPorts []uint32
	// Pools lists hosts, as destinations name them, whose subsets are
	// InferencePools in the Gateway API dialect: a route bound to gateways
	// sends such a host's subset S to the pool names.Deployment(service, S)
	// (inference.networking.k8s.io) instead of the Service of that name,
	// and the pool's endpoint picker chooses the pod. Istio routes to pools
	// from its gateways only, so mesh routes refuse it. The Istio dialect
	// ignores it.
	Pools []string
	// Subsets are the versions that can be routed to, in the order the
	// DestinationRule lists them. Names unique.
	Subsets []Subset
	// Rules are evaluated in order; the first that matches routes the
	// request. Only the last may match everything. A request no rule
	// matches gets 404 from Envoy.
	Rules []Rule
	// Policy is the DestinationRule's traffic policy; nil sets none.
	Policy *TrafficPolicy
	// ExportTo limits the namespaces that see both objects ("." is this
	// namespace, "*" all); empty means all.
	ExportTo []string
	// Labels are put on both objects.
	Labels map[string]string
}

// Subset is one routable version: the pods of Host carrying Labels.
type Subset struct {
	// Name is the subset's name ("v1"). A DNS-1123 label. Required.
	Name string
	// Labels select the subset's pods; empty means {version: Name}.
	Labels map[string]string
}

// Rule is one HTTP route: the requests it matches and where they go.
type Rule struct {
	// Name names the route in Envoy's config and in access logs; optional.
	Name string
	// Match lists alternative conditions: a request matching any of them
	// takes this rule. Empty matches every request.
	Match []Match
	// Split is where matched requests go. One destination takes all the
	// traffic (its Weight may be 0 or 100); several must have weights that
	// sum to exactly 100, where 0 keeps a version dark but visible.
	Split []Destination
	// Mirror copies a share of the matched requests elsewhere; responses to
	// the copies are discarded.
	Mirror []Mirror
	// Timeout bounds the whole request, retries included; 0 means none
	// (Istio's default: no timeout). At least 1ms when set.
	Timeout time.Duration
	// Retries is the retry policy. nil keeps Istio's default, which retries
	// twice (on connect-failure, refused-stream, unavailable, cancelled and
	// retriable-status-codes): for an expensive inference call that may
	// mean three executions, so set &Retries{} (no retries) or a bounded
	// policy for costly models.
	Retries *Retries
	// Fault injects delays or aborts, for testing how callers cope.
	Fault *Fault
	// Headers changes the matched requests' headers before they are sent,
	// and their responses' before they are returned; nil changes none.
	Headers *HeaderChanges
}

// NamesHost reports whether a destination or mirror of the rule names a
// host, rather than sending to a subset of the Spec's own.
func (r Rule) NamesHost() bool {
	return slices.ContainsFunc(r.Split, func(d Destination) bool { return d.Host != "" }) ||
		slices.ContainsFunc(r.Mirror, func(m Mirror) bool { return m.Host != "" })
}

// HeaderChanges are the header changes of a rule: a VirtualService
// route's headers, a Gateway API rule's RequestHeaderModifier and
// ResponseHeaderModifier filters.
type HeaderChanges struct {
	Request  HeaderOps
	Response HeaderOps
}

// HeaderOps changes headers. Names are lowercase HTTP field names, each in
// at most one of Set, Add and Remove; Host and pseudo-headers (":path")
// cannot be changed. Values are literal: no control characters,
// and no '%', which Envoy reads as the start of a variable.
type HeaderOps struct {
	// Set replaces the header, or adds it.
	Set map[string]string
	// Add appends a value to the header.
	Add map[string]string
	// Remove removes the headers.
	Remove []string
}

// Match is one condition set; all of its parts must hold.
type Match struct {
	// Name names the match in Envoy's config; optional.
	Name string
	// Port matches requests sent to this Service port; 0 matches any.
	Port uint32
	// Headers maps lowercase header names to how their value must match.
	Headers map[string]StringMatch
	// URI is how the request path must match; nil matches any path.
	URI *StringMatch
}

// MatchKind is how a StringMatch compares.
type MatchKind string

// The ways a string may be matched.
const (
	MatchExact  MatchKind = "exact"
	MatchPrefix MatchKind = "prefix"
	MatchRegex  MatchKind = "regex"
)

// StringMatch matches a header value or a path.
type StringMatch struct {
	// Kind is exact, prefix or regex (RE2, matched against the whole value).
	Kind MatchKind
	// Value is the string or pattern; a regex must compile as RE2.
	Value string
}

// Exact matches the whole value.
func Exact(v string) StringMatch { return StringMatch{Kind: MatchExact, Value: v} }

// Prefix matches values that start with v.
func Prefix(v string) StringMatch { return StringMatch{Kind: MatchPrefix, Value: v} }

// Regex matches values that the RE2 pattern matches in full.
func Regex(pattern string) StringMatch { return StringMatch{Kind: MatchRegex, Value: pattern} }

// Destination is where a share of the traffic goes.
type Destination struct {
	// Subset is the version routed to; empty means all pods of the host.
	Subset string
	// Weight is the percentage of the rule's traffic, 0-100.
	Weight int32
	// Host overrides Spec.Host, for a rule that routes to another service
	// (the model chosen by a header, say).
	Host string
	// Port overrides the rule's port (see Spec.Ports).
	Port uint32
}

// Mirror copies Percent of a rule's requests to a destination.
type Mirror struct {
	// Subset and Host name the destination, as in Destination.
	Subset string
	Host   string
	Port   uint32
	// Percent is the share mirrored, more than 0 and at most 100.
	Percent float64
}

// Retries is a retry policy.
type Retries struct {
	// Attempts is how many retries are made; 0 disables retries.
	Attempts int32
	// PerTryTimeout bounds each try; 0 means the rule's Timeout. At least
	// 1ms when set.
	PerTryTimeout time.Duration
	// RetryOn lists the conditions that are retried: Envoy's retry
	// policies (5xx, gateway-error, reset, connect-failure,
	// refused-stream, retriable-4xx, retriable-status-codes, and the gRPC
	// cancelled, deadline-exceeded, internal, resource-exhausted,
	// unavailable) or HTTP status codes. Empty keeps Istio's list.
	RetryOn []string
}

// Fault injects faults into a rule's requests.
type Fault struct {
	Delay *Delay
	Abort *Abort
}

// Delay holds Percent of requests for Fixed before forwarding them.
type Delay struct {
	Fixed   time.Duration
	Percent float64
}

// Abort answers Percent of requests with an error instead of forwarding
// them. At least one of HTTPStatus and GRPCStatus is set. On a port of
// Spec.GRPCPorts the answer is GRPCStatus, or when that is empty the status
// gRPC maps HTTPStatus to (400 INTERNAL, 401 UNAUTHENTICATED, 403
// PERMISSION_DENIED, 404 UNIMPLEMENTED, 429, 502, 503 and 504 UNAVAILABLE,
// any other UNKNOWN); on any other port it is HTTPStatus, or when that is
// 0 GRPCStatus. A rule routed to an HTTP and a gRPC port may so set both.
type Abort struct {
	HTTPStatus int32
	GRPCStatus string
	Percent    float64
}

// grpcStatusOf maps an HTTP status to the gRPC status a gRPC client sees
// for it, as gRPC's HTTP-to-gRPC status mapping does.
func grpcStatusOf(http int32) string {
	switch http {
	case 400:
		return "INTERNAL"
	case 401:
		return "UNAUTHENTICATED"
	case 403:
		return "PERMISSION_DENIED"
	case 404:
		return "UNIMPLEMENTED"
	case 429, 502, 503, 504:
		return "UNAVAILABLE"
	}
	return "UNKNOWN"
}

// TLSMode is the TLS a client sidecar uses towards the host: Istio's
// ClientTLSSettings mode (DISABLE, SIMPLE, MUTUAL, ISTIO_MUTUAL). It is not
// ingress.TLSMode, a server's (PASSTHROUGH among them): Istio has two enums,
// and a value of one is no value of the other.
type TLSMode string

// The TLS modes of a DestinationRule.
const (
	TLSIstioMutual TLSMode = "ISTIO_MUTUAL"
	TLSDisable     TLSMode = "DISABLE"
	TLSSimple      TLSMode = "SIMPLE"
	TLSMutual      TLSMode = "MUTUAL"
)

// TrafficPolicy is how client sidecars talk to the host's pods. A policy
// sets at least one of its fields; nil sets none.
type TrafficPolicy struct {
	// TLS is the TLS mode; empty sets none (Istio's auto mTLS applies).
	// SIMPLE and MUTUAL originate TLS with the files below, which a sidecar
	// must have mounted; ISTIO_MUTUAL uses the mesh's certificates.
	TLS TLSMode
	// CACertificates is the file of the certificate authorities that
	// verify the server, required for SIMPLE and MUTUAL: Istio's analyzers
	// flag an unverified server (IST0128).
	CACertificates string
	// ClientCertificate and PrivateKey are the files of the client's
	// certificate and key, required for MUTUAL.
	ClientCertificate, PrivateKey string
	// SNI is the server name sent in the TLS handshake; empty sends none.
	SNI string
	// ConnectionPool caps connections and requests; nil sets no caps.
	ConnectionPool *ConnectionPool
	// OutlierDetection ejects failing pods (circuit breaking); nil ejects none.
	OutlierDetection *OutlierDetection
	// LoadBalancer picks a pod for each request; nil is Istio's default
	// (least request).
	LoadBalancer *LoadBalancer
}

// ConnectionPool caps what a client sidecar sends to the host. A zero field
// leaves Envoy's default.
type ConnectionPool struct {
	MaxConnections           int32
	ConnectTimeout           time.Duration
	MaxPendingRequests       int32
	MaxRequests              int32
	MaxRequestsPerConnection int32
	MaxRetries               int32
	IdleTimeout              time.Duration
}

// OutlierDetection ejects pods that keep failing. A zero field leaves Istio's
// default.
type OutlierDetection struct {
	Consecutive5xxErrors     uint32
	ConsecutiveGatewayErrors uint32
	Interval                 time.Duration
	BaseEjectionTime         time.Duration
	// MaxEjectionPercent is the most pods that may be ejected at once, 0-100.
	MaxEjectionPercent int32
}

// SimpleLB is a load-balancing algorithm.
type SimpleLB string

// The simple load balancers.
const (
	LeastRequest SimpleLB = "LEAST_REQUEST"
	RoundRobin   SimpleLB = "ROUND_ROBIN"
	Random       SimpleLB = "RANDOM"
)

// LoadBalancer picks a pod for each request: by a simple algorithm, or by a
// consistent hash (session affinity) of a header, a cookie or the source IP.
// At most one of them is set.
type LoadBalancer struct {
	Simple       SimpleLB
	HashHeader   string
	HashCookie   *Cookie
	HashSourceIP bool
	// Failover sends requests to the pods of the client's own region
	// while it has healthy ones, and to these regions' when it has not
	// (Istio's locality failover, across a multi-cluster mesh). It needs
	// OutlierDetection: Istio fails over only from pods it has ejected.
	// With it, the one of Simple and the hashes may be left unset.
	Failover []LocalityFailover
}

// LocalityFailover is where a region's requests go when it has no
// healthy pods.
type LocalityFailover struct {
	From, To string
}

// Cookie is the cookie a consistent hash uses; Envoy sets it when absent
// and TTL is not 0.
type Cookie struct {
	Name string
	Path string
	TTL  time.Duration
}

// SplitOf returns destinations for the weights by subset name, ordered by
// subset name so the output does not depend on map order.
func SplitOf(weights map[string]int32) []Destination {
	names := make([]string, 0, len(weights))
	for n := range weights {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]Destination, len(names))
	for i, n := range names {
		out[i] = Destination{Subset: n, Weight: weights[n]}
	}
	return out
}
