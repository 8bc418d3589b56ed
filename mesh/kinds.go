package mesh

import (
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/mlmesh/mlmesh/internal/order"
)

// kind is a kind of object a family builds: an index in kinds.
type kind uint8

// The kinds the families build. A kind mlmesh has not built before also
// needs its place in internal/order (its rank, and the Built list that
// apply.Managed prunes from): TestKindsAreKnown fails until it has them.
const (
	kindNamespace kind = iota
	kindPeerAuthentication
	kindRequestAuthentication
	kindAllowPolicy
	kindDenyPolicy
	kindServiceEntry
	kindServiceAccount
	kindWaypoint
	kindService
	kindSidecar
	kindDeployment
	kindBudget
	kindAutoscaler
	kindInferencePool
	kindModelRewrite
	kindObjective
	kindDestinationRule
	kindGateway
	kindGatewayAPIGateway
	kindEnvoyFilter
	kindVirtualService
	kindHTTPRoute
)

type kindInfo struct {
	group, name string
	rank        uint16 // in render's apply order
	split       bool   // one of several kinds of one name, ranked apart
}

// kinds describes each kind. An AuthorizationPolicy that denies and a
// waypoint are ranked by their content, as render.Sort ranks them: they
// are kinds of their own here, of the same Kubernetes kind as another.
var kinds = [...]kindInfo{
	kindNamespace:             ranked("", "Namespace"),
	kindPeerAuthentication:    ranked("security.istio.io", "PeerAuthentication"),
	kindRequestAuthentication: ranked("security.istio.io", "RequestAuthentication"),
	kindAllowPolicy:           splitRank("security.istio.io", "AuthorizationPolicy", order.Rank(order.AuthorizationPolicy)),
	kindDenyPolicy:            splitRank("security.istio.io", "AuthorizationPolicy", order.DenyingPolicy),
	kindServiceEntry:          ranked("networking.istio.io", "ServiceEntry"),
	kindServiceAccount:        ranked("", "ServiceAccount"),
	kindWaypoint:              splitRank("gateway.networking.k8s.io", "Gateway", order.Waypoint),
	kindService:               ranked("", "Service"),
	kindSidecar:               ranked("networking.istio.io", "Sidecar"),
	kindDeployment:            ranked("apps", "Deployment"),
	kindBudget:                ranked("policy", "PodDisruptionBudget"),
	kindAutoscaler:            ranked("autoscaling", "HorizontalPodAutoscaler"),
	kindInferencePool:         ranked("inference.networking.k8s.io", "InferencePool"),
	kindModelRewrite:          ranked("inference.networking.x-k8s.io", "InferenceModelRewrite"),
	kindObjective:             ranked("inference.networking.x-k8s.io", "InferenceObjective"),
	kindDestinationRule:       ranked("networking.istio.io", "DestinationRule"),
	kindGateway:               ranked("networking.istio.io", "Gateway"),
	kindGatewayAPIGateway:     ranked("gateway.networking.k8s.io", "Gateway"),
	kindEnvoyFilter:           ranked("networking.istio.io", "EnvoyFilter"),
	kindVirtualService:        ranked("networking.istio.io", "VirtualService"),
	kindHTTPRoute:             ranked("gateway.networking.k8s.io", "HTTPRoute"),
}

func ranked(group, name string) kindInfo {
	return kindInfo{group: group, name: name, rank: uint16(order.Rank(schema.GroupKind{Group: group, Kind: name}))}
}

// splitRank is a kind that render ranks by its content (render.Sort), at
// rank.
func splitRank(group, name string, rank int) kindInfo {
	return kindInfo{group: group, name: name, rank: uint16(rank), split: true}
}

func (k kind) String() string { return kinds[k].name }
