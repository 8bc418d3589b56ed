// Package labels holds the label and annotation keys mlmesh writes, in one
// place, so that builders, cross-checks and pruning agree on them.
package labels

const (
	// App is the label Istio's telemetry and mlmesh's Services select on.
	App = "app"
	// Version is the label a DestinationRule subset selects on.
	Version = "version"

	// Name, Instance, VersionK8s, Component and ManagedBy are the
	// recommended app.kubernetes.io labels.
	Name       = "app.kubernetes.io/name"
	Instance   = "app.kubernetes.io/instance"
	VersionK8s = "app.kubernetes.io/version"
	Component  = "app.kubernetes.io/component"
	ManagedBy  = "app.kubernetes.io/managed-by"

	// Manager is the value of ManagedBy on every object mlmesh builds;
	// pruning only ever considers objects that carry it.
	Manager = "mlmesh"

	// IstioInjection is the namespace label for automatic sidecar injection.
	IstioInjection = "istio-injection"
	// SidecarInject is the pod label that turns injection on or off.
	SidecarInject = "sidecar.istio.io/inject"
	// DataplaneMode is the namespace label that puts its pods in ambient
	// mode ("ambient").
	DataplaneMode = "istio.io/dataplane-mode"
	// UseWaypoint is the label of a Service (or namespace) that names the
	// waypoint its traffic goes through.
	UseWaypoint = "istio.io/use-waypoint"
	// IngressUseWaypoint ("true") on a Service makes Istio's gateways send
	// its traffic through its waypoint too.
	IngressUseWaypoint = "istio.io/ingress-use-waypoint"
	// WaypointFor on a waypoint says which traffic it handles ("service").
	WaypointFor = "istio.io/waypoint-for"
)

// Merge returns a new map holding base overlaid with extra; extra wins.
func Merge(base, extra map[string]string) map[string]string {
	out := make(map[string]string, len(base)+len(extra))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range extra {
		out[k] = v
	}
	return out
}
