package conformance

import (
	"fmt"
	"regexp"
	"strings"

	listener "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	rbacv3 "github.com/envoyproxy/go-control-plane/envoy/config/rbac/v3"
	rbacfilter "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/rbac/v3"
	hcm "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
)

// Request is what Envoy's RBAC filter sees of a request: the peer's mTLS
// identity (a SPIFFE URI, empty for plain text), a validated token's
// issuer and subject (empty without one), the method, path, authority and
// the port it arrived at.
type Request struct {
	Peer      string
	Issuer    string
	Subject   string
	Method    string
	Path      string
	Authority string
	Port      uint32
}

func (r Request) String() string {
	return fmt.Sprintf("%s %s%s on %d from %q token %q", r.Method, r.Authority, r.Path, r.Port, r.Peer, r.Issuer)
}

// HTTPFilters returns the HTTP filters, by name, of the listener's first
// HTTP connection manager: the RBAC and JWT filters Istio built for the
// proxy, the same on each of its HTTP chains.
func HTTPFilters(listeners []*listener.Listener, name string) (map[string][]*hcm.HttpFilter, error) {
	for _, l := range listeners {
		if l.Name != name {
			continue
		}
		for _, fc := range l.FilterChains {
			for _, f := range fc.Filters {
				if f.Name != "envoy.filters.network.http_connection_manager" {
					continue
				}
				h := &hcm.HttpConnectionManager{}
				if err := f.GetTypedConfig().UnmarshalTo(h); err != nil {
					return nil, err
				}
				out := map[string][]*hcm.HttpFilter{}
				for _, hf := range h.HttpFilters {
					out[hf.Name] = append(out[hf.Name], hf)
				}
				return out, nil
			}
		}
	}
	return nil, fmt.Errorf("no HTTP listener %s", name)
}

// Authorized evaluates the RBAC filters of a chain on r as Envoy does: a
// DENY filter whose policy matches refuses it; an ALLOW filter refuses it
// unless one of its policies matches. It returns the reason for a refusal.
func Authorized(filters []*hcm.HttpFilter, r Request) (bool, string, error) {
	for _, f := range filters {
		cfg := &rbacfilter.RBAC{}
		if err := f.GetTypedConfig().UnmarshalTo(cfg); err != nil {
			return false, "", err
		}
		rules := cfg.GetRules()
		if rules == nil {
			continue
		}
		matched := ""
		for name, p := range rules.Policies {
			if anyPermission(p.Permissions, r) && anyPrincipal(p.Principals, r) {
				matched = name
				break
			}
		}
		switch rules.Action {
		case rbacv3.RBAC_DENY:
			if matched != "" {
				return false, "denied by " + matched, nil
			}
		case rbacv3.RBAC_ALLOW:
			if matched == "" {
				return false, "no ALLOW policy matches", nil
			}
		default:
			return false, "", fmt.Errorf("RBAC action %s is not evaluated here", rules.Action)
		}
	}
	return true, "", nil
}

func anyPermission(ps []*rbacv3.Permission, r Request) bool {
	for _, p := range ps {
		if permission(p, r) {
			return true
		}
	}
	return false
}

func permission(p *rbacv3.Permission, r Request) bool {
	switch rule := p.Rule.(type) {
	case *rbacv3.Permission_Any:
		return rule.Any
	case *rbacv3.Permission_AndRules:
		for _, q := range rule.AndRules.Rules {
			if !permission(q, r) {
				return false
			}
		}
		return true
	case *rbacv3.Permission_OrRules:
		return anyPermission(rule.OrRules.Rules, r)
	case *rbacv3.Permission_NotRule:
		return !permission(rule.NotRule, r)
	case *rbacv3.Permission_Header:
		return header(rule.Header.Name, rule.Header.GetStringMatch(), rule.Header.GetPresentMatch(), r)
	case *rbacv3.Permission_UrlPath:
		return stringMatch(rule.UrlPath.GetPath(), r.Path)
	case *rbacv3.Permission_DestinationPort:
		return rule.DestinationPort == r.Port
	}
	panic(fmt.Sprintf("RBAC permission %T is not evaluated here", p.Rule))
}

func header(name string, m *matcherv3.StringMatcher, present bool, r Request) bool {
	v := map[string]string{":method": r.Method, ":path": r.Path, ":authority": r.Authority, "host": r.Authority}[strings.ToLower(name)]
	if m == nil {
		return present && v != ""
	}
	return v != "" && stringMatch(m, v)
}

func anyPrincipal(ps []*rbacv3.Principal, r Request) bool {
	for _, p := range ps {
		if principal(p, r) {
			return true
		}
	}
	return false
}

func principal(p *rbacv3.Principal, r Request) bool {
	switch id := p.Identifier.(type) {
	case *rbacv3.Principal_Any:
		return id.Any
	case *rbacv3.Principal_AndIds:
		for _, q := range id.AndIds.Ids {
			if !principal(q, r) {
				return false
			}
		}
		return true
	case *rbacv3.Principal_OrIds:
		return anyPrincipal(id.OrIds.Ids, r)
	case *rbacv3.Principal_NotId:
		return !principal(id.NotId, r)
	case *rbacv3.Principal_Authenticated_:
		return r.Peer != "" && stringMatch(id.Authenticated.GetPrincipalName(), r.Peer)
	case *rbacv3.Principal_FilterState:
		// A waypoint's peer: the identity the HBONE tunnel carried, which
		// it keeps as filter state rather than its own TLS peer's.
		if id.FilterState.GetKey() != "io.istio.peer_principal" {
			panic(fmt.Sprintf("RBAC filter state %q is not evaluated here", id.FilterState.GetKey()))
		}
		return r.Peer != "" && stringMatch(id.FilterState.GetStringMatch(), r.Peer)
	case *rbacv3.Principal_Metadata:
		// A validated token's claims, as the JWT filter leaves them.
		m := id.Metadata
		if m.GetFilter() != "envoy.filters.http.jwt_authn" || len(m.Path) != 2 || m.Path[0].GetKey() != "payload" {
			panic(fmt.Sprintf("RBAC metadata %v is not evaluated here", m))
		}
		v := map[string]string{"iss": r.Issuer, "sub": r.Subject}[m.Path[1].GetKey()]
		match := v != "" && stringMatch(m.GetValue().GetStringMatch(), v)
		return match != m.GetInvert()
	}
	panic(fmt.Sprintf("RBAC principal %T is not evaluated here", p.Identifier))
}

func stringMatch(m *matcherv3.StringMatcher, v string) bool {
	if m.GetIgnoreCase() {
		v = strings.ToLower(v)
	}
	lower := func(s string) string {
		if m.GetIgnoreCase() {
			return strings.ToLower(s)
		}
		return s
	}
	switch p := m.MatchPattern.(type) {
	case *matcherv3.StringMatcher_Exact:
		return v == lower(p.Exact)
	case *matcherv3.StringMatcher_Prefix:
		return strings.HasPrefix(v, lower(p.Prefix))
	case *matcherv3.StringMatcher_Suffix:
		return strings.HasSuffix(v, lower(p.Suffix))
	case *matcherv3.StringMatcher_Contains:
		return strings.Contains(v, lower(p.Contains))
	case *matcherv3.StringMatcher_SafeRegex:
		return regexp.MustCompile("^(?:" + p.SafeRegex.Regex + ")$").MatchString(v)
	}
	panic(fmt.Sprintf("string matcher %T is not evaluated here", m.MatchPattern))
}
