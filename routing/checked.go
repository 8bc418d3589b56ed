package routing

import (
	"slices"
	"strings"

	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/mlmesh/mlmesh/internal/fielderr"
)

// Checked is a Spec that passed validation: its objects are built from it
// without validating it again. A composer that validates once and builds
// several objects (package mesh) uses it; VirtualService, DestinationRule
// and GatewayRoutes are Check followed by one of its methods.
//
// It keeps the pointer given to Check and does not copy the Spec: the Spec
// must not change while its Checked value is in use. The zero value holds
// no Spec (see Spec) and must not be built from.
type Checked struct{ s *Spec }

// Check validates the Spec s points to, reporting every problem at once as
// a *ValidationError, and returns it checked.
func Check(s *Spec) (Checked, error) {
	if err := s.Validate(); err != nil {
		return Checked{}, err
	}
	return Checked{s}, nil
}

// Checker checks Specs as Check does, and checks once the rules and the
// traffic policy that many of them share: a fleet's models written from
// one Traffic have one []Rule and one *TrafficPolicy. It remembers the
// last rules it found valid by where they are in memory, with what of the
// Spec they were checked against (its subsets' names, whether its host is
// a wildcard, whether it routes several ports), and the last policy by its
// pointer; a Spec that has them again has the rest of it checked.
//
// What it remembers must not change while it is in use, as a Checked
// Spec must not. The zero Checker is ready to use, by one goroutine at a
// time.
type Checker struct {
	rules     *Rule // the first of the last rules found valid, nil for none
	nRules    int
	wildcard  bool // the Spec's host was a wildcard
	multiPort bool // it routed several ports
	subsets   []string
	policy    *TrafficPolicy // the last policy found valid
}

// Check validates the Spec s points to as Check does, skipping the rules
// and the policy the Checker found valid already, and returns it checked.
func (c *Checker) Check(s *Spec) (Checked, error) {
	if err := fielderr.New("routing.Spec", s.validate(c)); err != nil {
		return Checked{}, err
	}
	return Checked{s}, nil
}

// validRules reports whether c remembers s's rules as valid in a Spec
// like s. A nil Checker remembers nothing.
func (c *Checker) validRules(s *Spec) bool {
	if c == nil || c.rules == nil || len(s.Rules) != c.nRules || &s.Rules[0] != c.rules ||
		strings.HasPrefix(s.Host, "*") != c.wildcard || s.multiPort() != c.multiPort || len(s.Subsets) != len(c.subsets) {
		return false
	}
	for i := range s.Subsets {
		if s.Subsets[i].Name != c.subsets[i] {
			return false
		}
	}
	return true
}

// rememberRules remembers s's rules, found valid. Rules whose destinations
// name hosts are left out: s.Host decides which subsets they must have.
func (c *Checker) rememberRules(s *Spec) {
	if c == nil || len(s.Rules) == 0 || slices.ContainsFunc(s.Rules, Rule.NamesHost) {
		return
	}
	c.rules, c.nRules = &s.Rules[0], len(s.Rules)
	c.wildcard, c.multiPort = strings.HasPrefix(s.Host, "*"), s.multiPort()
	c.subsets = c.subsets[:0]
	for _, sub := range s.Subsets {
		c.subsets = append(c.subsets, sub.Name)
	}
}

// validPolicy reports whether c remembers tp as valid.
func (c *Checker) validPolicy(tp *TrafficPolicy) bool { return c != nil && c.policy == tp }

// rememberPolicy remembers tp, found valid.
func (c *Checker) rememberPolicy(tp *TrafficPolicy) {
	if c != nil {
		c.policy = tp
	}
}

// Spec is the Spec that was checked, nil for the zero value.
func (c Checked) Spec() *Spec { return c.s }

// VirtualService is the Spec's VirtualService, as VirtualService builds
// it, into reuse: nil builds a new one; the result of an earlier call has
// its storage reused (labels, hosts, HTTP routes), and must no longer be in
// use elsewhere.
func (c Checked) VirtualService(reuse *networkingv1.VirtualService) *networkingv1.VirtualService {
	if reuse == nil {
		return virtualService(*c.s)
	}
	virtualServiceInto(reuse, *c.s)
	return reuse
}

// DestinationRule is the Spec's DestinationRule, as DestinationRule builds
// it, into reuse: nil builds a new one; the result of an earlier call has
// its storage reused (labels, subsets), and must no longer be in use
// elsewhere.
func (c Checked) DestinationRule(reuse *networkingv1.DestinationRule) *networkingv1.DestinationRule {
	if reuse == nil {
		return destinationRule(*c.s)
	}
	destinationRuleInto(reuse, *c.s)
	return reuse
}

// GatewayRoutes are the Spec's Gateway API routes, as GatewayRoutes builds
// them, once the Spec says nothing the Gateway API dialect cannot
// (ValidateGatewayAPI).
func (c Checked) GatewayRoutes() ([]*gatewayv1.HTTPRoute, error) {
	if err := fielderr.New("routing.Spec", c.s.validateGatewayAPI()); err != nil {
		return nil, err
	}
	return gatewayRoutes(*c.s), nil
}
