package routing

import (
	"slices"
	"strings"

	apiv1 "istio.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/mlmesh/mlmesh/internal/check"
	"github.com/mlmesh/mlmesh/internal/fieldpath"
)

// maxHeaderValue is the longest header value Gateway API's CRD takes.
const maxHeaderValue = 4096

func (h *HeaderChanges) validate(p fieldpath.Path) field.ErrorList {
	errs := h.Request.validate(p.Child("request"))
	return append(errs, h.Response.validate(p.Child("response"))...)
}

func (o HeaderOps) validate(p fieldpath.Path) field.ErrorList {
	var errs field.ErrorList
	seen := map[string]string{} // lower-case name: where it was first
	name := func(np fieldpath.Path, n, where string) {
		lower := strings.ToLower(n)
		switch msgs := check.HTTPHeaderName(n); {
		case len(msgs) > 0:
			errs = append(errs, field.Invalid(np.Field(), n, "an HTTP header name: "+strings.Join(msgs, "; ")))
		case len(n) > check.MaxKey:
			errs = append(errs, field.TooLong(np.Field(), field.OmitValueType{}, check.MaxKey))
		case n != lower:
			errs = append(errs, field.Invalid(np.Field(), n, "a lowercase header name (HTTP/2 and Envoy compare lowercase names)"))
		case lower == "host":
			errs = append(errs, field.Invalid(np.Field(), n, "the Host header cannot be changed here"))
		case seen[lower] != "":
			errs = append(errs, field.Invalid(np.Field(), n, "already changed by "+seen[lower]+": a header in one of set, add and remove"))
		default:
			seen[lower] = where
		}
	}
	value := func(vp fieldpath.Path, v string) {
		switch {
		case strings.ContainsAny(v, "%"):
			errs = append(errs, field.Invalid(vp.Field(), v, "a literal value without '%': Envoy reads % as the start of a variable"))
		case strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 && r != '\t' || r == 0x7f }):
			errs = append(errs, field.Invalid(vp.Field(), v, "a header value without control characters"))
		case len(v) > maxHeaderValue:
			errs = append(errs, field.TooLong(vp.Field(), field.OmitValueType{}, maxHeaderValue))
		}
	}
	for _, kind := range []struct {
		name string
		m    map[string]string
	}{{"set", o.Set}, {"add", o.Add}} {
		for _, n := range sortedNames(kind.m) {
			np := p.Child(kind.name).Key(n)
			name(np, n, p.Child(kind.name).String())
			value(np, kind.m[n])
		}
	}
	for i, n := range o.Remove {
		name(p.Child("remove").Index(i), n, p.Child("remove").String())
	}
	return errs
}

func sortedNames(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func (o HeaderOps) empty() bool { return len(o.Set) == 0 && len(o.Add) == 0 && len(o.Remove) == 0 }

// istioHeaders is h as a VirtualService route's headers.
func istioHeaders(h *HeaderChanges) *apiv1.Headers {
	if h == nil || h.Request.empty() && h.Response.empty() {
		return nil
	}
	ops := func(o HeaderOps) *apiv1.Headers_HeaderOperations {
		if o.empty() {
			return nil
		}
		return &apiv1.Headers_HeaderOperations{Set: copyMap(o.Set), Add: copyMap(o.Add), Remove: slices.Clone(o.Remove)}
	}
	return &apiv1.Headers{Request: ops(h.Request), Response: ops(h.Response)}
}

func copyMap(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// gatewayHeaderFilters is h as a Gateway API rule's header modifier
// filters, names in order.
func gatewayHeaderFilters(h *HeaderChanges) []gatewayv1.HTTPRouteFilter {
	if h == nil {
		return nil
	}
	mod := func(o HeaderOps) *gatewayv1.HTTPHeaderFilter {
		if o.empty() {
			return nil
		}
		f := &gatewayv1.HTTPHeaderFilter{}
		for _, n := range sortedNames(o.Set) {
			f.Set = append(f.Set, gatewayv1.HTTPHeader{Name: gatewayv1.HTTPHeaderName(n), Value: o.Set[n]})
		}
		for _, n := range sortedNames(o.Add) {
			f.Add = append(f.Add, gatewayv1.HTTPHeader{Name: gatewayv1.HTTPHeaderName(n), Value: o.Add[n]})
		}
		f.Remove = slices.Clone(o.Remove)
		return f
	}
	var out []gatewayv1.HTTPRouteFilter
	if f := mod(h.Request); f != nil {
		out = append(out, gatewayv1.HTTPRouteFilter{Type: gatewayv1.HTTPRouteFilterRequestHeaderModifier, RequestHeaderModifier: f})
	}
	if f := mod(h.Response); f != nil {
		out = append(out, gatewayv1.HTTPRouteFilter{Type: gatewayv1.HTTPRouteFilterResponseHeaderModifier, ResponseHeaderModifier: f})
	}
	return out
}

// The Gateway API's limits on a header modifier.
const (
	maxGatewayHeaders    = 16
	maxGatewayHeaderName = 256
)

// gatewayHeaderErrors reports what of o a Gateway API header modifier
// cannot hold.
func gatewayHeaderErrors(p fieldpath.Path, o HeaderOps) field.ErrorList {
	var errs field.ErrorList
	long := func(n string) bool { return len(n) > maxGatewayHeaderName && len(n) <= check.MaxKey } // longer ones: validate's
	for _, kind := range []struct {
		name string
		m    map[string]string
	}{{"set", o.Set}, {"add", o.Add}} {
		if len(kind.m) > maxGatewayHeaders {
			errs = append(errs, field.TooMany(p.Child(kind.name).Field(), len(kind.m), maxGatewayHeaders))
		}
		for _, n := range sortedNames(kind.m) {
			if long(n) {
				errs = append(errs, field.TooLong(p.Child(kind.name).Key(n).Field(), field.OmitValueType{}, maxGatewayHeaderName))
			}
		}
	}
	if len(o.Remove) > maxGatewayHeaders {
		errs = append(errs, field.TooMany(p.Child("remove").Field(), len(o.Remove), maxGatewayHeaders))
	}
	for i, n := range o.Remove {
		if long(n) {
			errs = append(errs, field.TooLong(p.Child("remove").Index(i).Field(), field.OmitValueType{}, maxGatewayHeaderName))
		}
	}
	return errs
}
