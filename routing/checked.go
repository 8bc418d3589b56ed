package routing

import (
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
