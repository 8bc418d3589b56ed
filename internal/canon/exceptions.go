package canon

import "google.golang.org/protobuf/reflect/protoreflect"

// The canonical form's exceptions to encoding/json's and protojson's
// output, as data: what the encoder leaves out that they write, and writes
// that they leave out. Output bytes depend on every entry (VERSIONING.md):
// an entry is added only with a golden file that shows why.

// serverMetadata are the metadata fields the API server fills in; they are
// not part of a manifest, in an object's metadata or a pod template's.
var serverMetadata = map[string]bool{
	"creationTimestamp": true, "deletionGracePeriodSeconds": true, "deletionTimestamp": true,
	"generation": true, "managedFields": true, "resourceVersion": true, "selfLink": true, "uid": true,
}

// weightedDestinations are the messages whose weight is always written when
// they appear in a list of two or more: a reader must see a dark (weight 0)
// version, which protojson would leave out.
var weightedDestinations = map[protoreflect.FullName]bool{
	"istio.networking.v1alpha3.HTTPRouteDestination": true,
	"istio.networking.v1alpha3.RouteDestination":     true,
}

// alwaysWritten are fields written even at their zero value, because the
// zero is an enum value a reader needs to see: a ServiceEntry's location
// (MESH_EXTERNAL) and resolution (NONE).
var alwaysWritten = map[protoreflect.FullName]map[protoreflect.Name]bool{
	"istio.networking.v1alpha3.ServiceEntry": {"location": true, "resolution": true},
	// retries: {attempts: 0} turns Istio's default retries off; "retries: {}"
	// means the same but does not say so.
	"istio.networking.v1alpha3.HTTPRetry": {"attempts": true},
	// A Sidecar's outboundTrafficPolicy: {} means REGISTRY_ONLY, the enum's
	// zero, where no policy at all means the mesh's (ALLOW_ANY by default).
	"istio.networking.v1alpha3.OutboundTrafficPolicy": {"mode": true},
}
