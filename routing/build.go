package routing

import (
	"maps"
	"slices"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
	apiv1 "istio.io/api/networking/v1"
	"istio.io/api/networking/v1alpha3"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/mlmesh/mlmesh/internal/labels"
)

// VirtualService validates s and returns its VirtualService: hosts Host then
// Hosts, the gateways as given, and one HTTP route per rule, in order. Every
// destination of a route carries an explicit weight.
func VirtualService(s Spec) (*networkingv1.VirtualService, error) {
	c, err := Check(&s)
	if err != nil {
		return nil, err
	}
	return c.VirtualService(nil), nil
}

// DestinationRule validates s and returns its DestinationRule: host Host, one
// subset per Subsets entry, and the traffic policy.
func DestinationRule(s Spec) (*networkingv1.DestinationRule, error) {
	c, err := Check(&s)
	if err != nil {
		return nil, err
	}
	return c.DestinationRule(nil), nil
}

func (s Spec) meta() metav1.ObjectMeta { return s.metaInto(nil) }

// metaInto is meta with its labels in l, emptied, when l is not nil.
func (s Spec) metaInto(l map[string]string) metav1.ObjectMeta {
	ns := s.Namespace
	if ns == "" {
		ns = "default"
	}
	if l == nil {
		// Room for a label the caller adds (mesh adds app=<model>).
		l = make(map[string]string, len(s.Labels)+2)
	} else {
		clear(l)
	}
	for k, v := range s.Labels {
		l[k] = v
	}
	l[labels.ManagedBy] = labels.Manager
	return metav1.ObjectMeta{Name: s.Name, Namespace: ns, Labels: l}
}

func virtualService(s Spec) *networkingv1.VirtualService {
	vs := new(networkingv1.VirtualService)
	virtualServiceInto(vs, s)
	return vs
}

// virtualServiceInto builds s's VirtualService into vs, which is zero or
// holds an earlier build whose storage (labels, hosts, HTTP routes with
// their matches and destinations) it reuses, leaving vs as a fresh build
// would: TestVirtualServiceIntoEqualsFresh holds it to that.
func virtualServiceInto(vs *networkingv1.VirtualService, s Spec) {
	prevLabels, prevHosts, prevHTTP := vs.Labels, vs.Spec.Hosts, vs.Spec.Http
	vs.TypeMeta = metav1.TypeMeta{APIVersion: "networking.istio.io/v1", Kind: "VirtualService"}
	vs.ObjectMeta = s.metaInto(prevLabels)
	vs.Spec = apiv1.VirtualService{}
	vs.Spec.Hosts = append(append(prevHosts[:0], s.Host), s.Hosts...)
	vs.Spec.Gateways = append([]string(nil), s.Gateways...)
	vs.Spec.ExportTo = append([]string(nil), s.ExportTo...)
	http := prevHTTP[:0]
	add := func(r Rule, port uint32, matchPort bool) {
		var hr *apiv1.HTTPRoute
		if k := len(http); k < len(prevHTTP) {
			hr = prevHTTP[k] // read before http[k] is written
		}
		http = append(http, s.httpRouteInto(hr, r, port, matchPort))
	}
	for _, r := range s.Rules {
		switch len(s.Ports) {
		case 0:
			add(r, 0, false)
		case 1:
			add(r, s.Ports[0], s.MatchPorts)
		default:
			for _, p := range s.Ports {
				add(r, p, true)
			}
		}
	}
	if len(http) > 0 {
		vs.Spec.Http = http
	}
}

func (s Spec) destination(host, subset string, port, rulePort uint32) *apiv1.Destination {
	return s.destinationInto(nil, host, subset, port, rulePort)
}

// destinationInto builds a destination into d (nil: a new one), reusing its
// port selector.
func (s Spec) destinationInto(d *apiv1.Destination, host, subset string, port, rulePort uint32) *apiv1.Destination {
	if host == "" {
		host = s.Host
	}
	if port == 0 {
		port = rulePort
	}
	var ps *apiv1.PortSelector
	if d == nil {
		d = new(apiv1.Destination)
	} else {
		ps = d.Port
	}
	*d = apiv1.Destination{Host: host, Subset: subset}
	if port != 0 {
		if ps == nil {
			ps = new(apiv1.PortSelector)
		}
		*ps = apiv1.PortSelector{Number: port}
		d.Port = ps
	}
	return d
}

// httpRoute builds a rule's route for port (0: none). With matchPort, the
// route only takes requests sent to that port.
func (s Spec) httpRoute(r Rule, port uint32, matchPort bool) *apiv1.HTTPRoute {
	return s.httpRouteInto(nil, r, port, matchPort)
}

// httpRouteInto is httpRoute into hr (nil: a new one), reusing its
// matches (and their header maps) and its destinations.
func (s Spec) httpRouteInto(hr *apiv1.HTTPRoute, r Rule, port uint32, matchPort bool) *apiv1.HTTPRoute {
	if hr == nil {
		hr = new(apiv1.HTTPRoute)
	}
	prevMatch, prevRoute := hr.Match, hr.Route
	*hr = apiv1.HTTPRoute{Name: r.Name}
	hr.Match = matchesInto(prevMatch, r.Match, port, matchPort)
	hr.Route = s.splitInto(prevRoute, r.Split, port)
	s.ruleActions(hr, r, port)
	return hr
}

// matchesInto builds a rule's matches into the storage of prev (its
// requests and their header maps); nil when there are none.
func matchesInto(prev []*apiv1.HTTPMatchRequest, matches []Match, port uint32, matchPort bool) []*apiv1.HTTPMatchRequest {
	out := prev[:0]
	next := func() (*apiv1.HTTPMatchRequest, map[string]*apiv1.StringMatch) {
		k := len(out)
		if k >= len(prev) {
			return new(apiv1.HTTPMatchRequest), nil
		}
		mr := prev[k] // read before out[k] is written
		h := mr.Headers
		*mr = apiv1.HTTPMatchRequest{}
		clear(h)
		return mr, h
	}
	if matchPort && len(matches) == 0 {
		mr, _ := next()
		mr.Port = port
		out = append(out, mr)
	}
	for _, m := range matches {
		mr, h := next()
		mr.Name, mr.Port = m.Name, m.Port
		if matchPort {
			mr.Port = port
		}
		if len(m.Headers) > 0 {
			if h == nil {
				h = make(map[string]*apiv1.StringMatch, len(m.Headers))
			}
			for name, sm := range m.Headers {
				h[name] = sm.proto()
			}
			mr.Headers = h
		}
		if m.URI != nil {
			mr.Uri = m.URI.proto()
		}
		out = append(out, mr)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// splitInto builds a rule's weighted destinations into the storage of
// prev; nil when there are none.
func (s Spec) splitInto(prev []*apiv1.HTTPRouteDestination, split []Destination, port uint32) []*apiv1.HTTPRouteDestination {
	out := prev[:0]
	for _, d := range split {
		w := d.Weight
		if len(split) == 1 {
			w = 100
		}
		var rd *apiv1.HTTPRouteDestination
		var dest *apiv1.Destination
		if k := len(out); k < len(prev) {
			rd, dest = prev[k], prev[k].Destination // read before out[k] is written
			*rd = apiv1.HTTPRouteDestination{}
		} else {
			rd = new(apiv1.HTTPRouteDestination)
		}
		rd.Destination, rd.Weight = s.destinationInto(dest, d.Host, d.Subset, d.Port, port), w
		out = append(out, rd)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// ruleActions sets what a rule does beside its split: mirrors, timeout,
// header changes, retries, faults.
func (s Spec) ruleActions(hr *apiv1.HTTPRoute, r Rule, port uint32) {
	for _, m := range r.Mirror {
		hr.Mirrors = append(hr.Mirrors, &apiv1.HTTPMirrorPolicy{
			Destination: s.destination(m.Host, m.Subset, m.Port, port),
			Percentage:  &apiv1.Percent{Value: m.Percent},
		})
	}
	hr.Timeout = duration(r.Timeout)
	hr.Headers = istioHeaders(r.Headers)
	if rt := r.Retries; rt != nil {
		hr.Retries = &apiv1.HTTPRetry{Attempts: rt.Attempts, PerTryTimeout: duration(rt.PerTryTimeout)}
		for i, c := range rt.RetryOn {
			if i > 0 {
				hr.Retries.RetryOn += ","
			}
			hr.Retries.RetryOn += c
		}
	}
	if f := r.Fault; f != nil {
		hr.Fault = &apiv1.HTTPFaultInjection{}
		if d := f.Delay; d != nil {
			hr.Fault.Delay = &apiv1.HTTPFaultInjection_Delay{
				HttpDelayType: &apiv1.HTTPFaultInjection_Delay_FixedDelay{FixedDelay: durationpb.New(d.Fixed)},
				Percentage:    &apiv1.Percent{Value: d.Percent},
			}
		}
		if a := f.Abort; a != nil {
			hr.Fault.Abort = &apiv1.HTTPFaultInjection_Abort{Percentage: &apiv1.Percent{Value: a.Percent}}
			grpc := a.GRPCStatus
			switch {
			case s.isGRPC(port) && grpc == "":
				grpc = grpcStatusOf(a.HTTPStatus)
			case !s.isGRPC(port) && a.HTTPStatus != 0:
				grpc = ""
			}
			if grpc != "" {
				hr.Fault.Abort.ErrorType = &apiv1.HTTPFaultInjection_Abort_GrpcStatus{GrpcStatus: grpc}
			} else {
				hr.Fault.Abort.ErrorType = &apiv1.HTTPFaultInjection_Abort_HttpStatus{HttpStatus: a.HTTPStatus}
			}
		}
	}
}

// isGRPC reports whether a routed port serves gRPC.
func (s Spec) isGRPC(port uint32) bool { return port != 0 && slices.Contains(s.GRPCPorts, port) }

func (m StringMatch) proto() *apiv1.StringMatch {
	switch m.Kind {
	case MatchPrefix:
		return &apiv1.StringMatch{MatchType: &apiv1.StringMatch_Prefix{Prefix: m.Value}}
	case MatchRegex:
		return &apiv1.StringMatch{MatchType: &apiv1.StringMatch_Regex{Regex: m.Value}}
	}
	return &apiv1.StringMatch{MatchType: &apiv1.StringMatch_Exact{Exact: m.Value}}
}

func duration(d time.Duration) *durationpb.Duration {
	if d == 0 {
		return nil
	}
	return durationpb.New(d)
}

func destinationRule(s Spec) *networkingv1.DestinationRule {
	dr := new(networkingv1.DestinationRule)
	destinationRuleInto(dr, s)
	return dr
}

// destinationRuleInto builds s's DestinationRule into dr, which is zero or
// holds an earlier build whose storage (labels, subsets and their label
// maps) it reuses. It sets every field a build sets and resets the rest of
// the spec's, leaving dr as a fresh build would:
// TestDestinationRuleIntoEqualsFresh holds it to that.
func destinationRuleInto(dr *networkingv1.DestinationRule, s Spec) {
	prevLabels, prevSubsets, prevPolicy := dr.Labels, dr.Spec.Subsets, dr.Spec.TrafficPolicy
	dr.TypeMeta = metav1.TypeMeta{APIVersion: "networking.istio.io/v1", Kind: "DestinationRule"}
	dr.ObjectMeta = s.metaInto(prevLabels)
	dr.Spec.Host = s.Host
	dr.Spec.ExportTo = append([]string(nil), s.ExportTo...)
	dr.Spec.WorkloadSelector = nil
	dr.Spec.TrafficPolicy = nil
	subsets := prevSubsets[:0]
	for i, sub := range s.Subsets {
		var out *apiv1.Subset
		var l map[string]string
		if i < len(prevSubsets) {
			out, l = prevSubsets[i], prevSubsets[i].Labels // read before subsets[i] is written
			clear(l)
		} else {
			out = new(apiv1.Subset)
		}
		if l == nil {
			l = make(map[string]string, max(1, len(sub.Labels)))
		}
		if len(sub.Labels) == 0 {
			l[labels.Version] = sub.Name
		}
		maps.Copy(l, sub.Labels)
		out.Name, out.Labels, out.TrafficPolicy = sub.Name, l, nil
		subsets = append(subsets, out)
	}
	dr.Spec.Subsets = nil
	if len(subsets) > 0 {
		dr.Spec.Subsets = subsets
	}
	if s.Policy != nil {
		dr.Spec.TrafficPolicy = s.Policy.protoInto(prevPolicy)
	}
}

func (tp *TrafficPolicy) proto() *apiv1.TrafficPolicy { return tp.protoInto(nil) }

// protoInto builds the policy into out and the TLS settings it holds (a
// fleet's policies are mostly TLS), reset, or into new messages when nil.
func (tp *TrafficPolicy) protoInto(out *apiv1.TrafficPolicy) *apiv1.TrafficPolicy {
	var tls *apiv1.ClientTLSSettings
	if out == nil {
		out = &apiv1.TrafficPolicy{}
	} else {
		tls = out.Tls
		out.Reset()
	}
	if tp.TLS != "" {
		if tls == nil {
			tls = &apiv1.ClientTLSSettings{}
		} else {
			tls.Reset()
		}
		tls.Mode = apiv1.ClientTLSSettings_TLSmode(v1alpha3.ClientTLSSettings_TLSmode_value[string(tp.TLS)])
		tls.CaCertificates, tls.ClientCertificate, tls.PrivateKey, tls.Sni = tp.CACertificates, tp.ClientCertificate, tp.PrivateKey, tp.SNI
		out.Tls = tls
	}
	if c := tp.ConnectionPool; c != nil {
		out.ConnectionPool = &apiv1.ConnectionPoolSettings{}
		if c.MaxConnections != 0 || c.ConnectTimeout != 0 {
			out.ConnectionPool.Tcp = &apiv1.ConnectionPoolSettings_TCPSettings{MaxConnections: c.MaxConnections, ConnectTimeout: duration(c.ConnectTimeout)}
		}
		if c.MaxPendingRequests != 0 || c.MaxRequests != 0 || c.MaxRequestsPerConnection != 0 || c.MaxRetries != 0 || c.IdleTimeout != 0 {
			out.ConnectionPool.Http = &apiv1.ConnectionPoolSettings_HTTPSettings{
				Http1MaxPendingRequests:  c.MaxPendingRequests,
				Http2MaxRequests:         c.MaxRequests,
				MaxRequestsPerConnection: c.MaxRequestsPerConnection,
				MaxRetries:               c.MaxRetries,
				IdleTimeout:              duration(c.IdleTimeout),
			}
		}
	}
	if o := tp.OutlierDetection; o != nil {
		od := &apiv1.OutlierDetection{
			Interval:           duration(o.Interval),
			BaseEjectionTime:   duration(o.BaseEjectionTime),
			MaxEjectionPercent: o.MaxEjectionPercent,
		}
		if o.Consecutive5xxErrors != 0 {
			od.Consecutive_5XxErrors = wrapperspb.UInt32(o.Consecutive5xxErrors)
		}
		if o.ConsecutiveGatewayErrors != 0 {
			od.ConsecutiveGatewayErrors = wrapperspb.UInt32(o.ConsecutiveGatewayErrors)
		}
		out.OutlierDetection = od
	}
	if lb := tp.LoadBalancer; lb != nil {
		out.LoadBalancer = &apiv1.LoadBalancerSettings{}
		switch {
		case lb.Simple != "":
			out.LoadBalancer.LbPolicy = &apiv1.LoadBalancerSettings_Simple{
				Simple: apiv1.LoadBalancerSettings_SimpleLB(v1alpha3.LoadBalancerSettings_SimpleLB_value[string(lb.Simple)]),
			}
		case lb.HashHeader != "":
			out.LoadBalancer.LbPolicy = &apiv1.LoadBalancerSettings_ConsistentHash{ConsistentHash: &apiv1.LoadBalancerSettings_ConsistentHashLB{
				HashKey: &apiv1.LoadBalancerSettings_ConsistentHashLB_HttpHeaderName{HttpHeaderName: lb.HashHeader},
			}}
		case lb.HashCookie != nil:
			out.LoadBalancer.LbPolicy = &apiv1.LoadBalancerSettings_ConsistentHash{ConsistentHash: &apiv1.LoadBalancerSettings_ConsistentHashLB{
				HashKey: &apiv1.LoadBalancerSettings_ConsistentHashLB_HttpCookie{HttpCookie: &apiv1.LoadBalancerSettings_ConsistentHashLB_HTTPCookie{
					Name: lb.HashCookie.Name, Path: lb.HashCookie.Path, Ttl: durationpb.New(lb.HashCookie.TTL),
				}},
			}}
		case lb.HashSourceIP:
			out.LoadBalancer.LbPolicy = &apiv1.LoadBalancerSettings_ConsistentHash{ConsistentHash: &apiv1.LoadBalancerSettings_ConsistentHashLB{
				HashKey: &apiv1.LoadBalancerSettings_ConsistentHashLB_UseSourceIp{UseSourceIp: true},
			}}
		}
		if len(lb.Failover) > 0 {
			loc := &apiv1.LocalityLoadBalancerSetting{Enabled: wrapperspb.Bool(true)}
			for _, f := range lb.Failover {
				loc.Failover = append(loc.Failover, &apiv1.LocalityLoadBalancerSetting_Failover{From: f.From, To: f.To})
			}
			out.LoadBalancer.LocalityLbSetting = loc
		}
	}
	return out
}
