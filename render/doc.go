// Package render writes Kubernetes objects as canonical manifests, the bytes
// that downstream golden files hold.
//
// The canonical form: documents in the make-before-break order of Sort
// (Namespace, security policy, ServiceEntry, Service, Deployment,
// DestinationRule, Gateway, VirtualService, then other kinds), separated by
// "---"; keys sorted bytewise; two-space indent with lists at their key's
// indent; no status (the object's own: a status field inside its spec is
// kept), no server-populated metadata, no nulls, and no empty
// {} where it carries no meaning (a non-nil pointer to an empty struct, as
// emptyDir: {}, is kept); an explicit weight on every destination of a
// weighted route, weight: 0 included; a ServiceEntry's location and
// resolution always written. Strings are quoted only where a YAML 1.1 or
// 1.2 reader would read them as something else. The same objects give the
// same bytes on every machine, and render owns this format: it is written by
// mlmesh's own encoder (internal/canon), not by a YAML library, so a
// dependency upgrade does not change a golden file. Rendering only reads the objects, apart from
// filling in a missing apiVersion and kind (SetKinds), so goroutines may
// render the same objects at once when those are set.
//
// The smallest use:
//
//	err := render.WriteYAML(os.Stdout, objects)
//
// JSON writes a v1 List, and WriteDir one file per object, named so that
// "kubectl apply -f DIR" applies them in order. An Encoder streams
// documents for outputs too large to hold.
//
// Apply puts objects into a cluster through an Applier (server-side apply
// of one object), in the same order, rank by rank with the objects of one
// rank sent side by side (ApplyOptions.Workers), reporting per object what
// happened, and, given the API server's schemas, sending nothing for an
// object the field manager already applied as wanted (a Cache kept
// between calls remembers which were);
// Transition moves from the objects applied before to the objects wanted
// now, safe at every step. The adapters for client-go's dynamic client and
// controller-runtime live in render/dynamicapply and render/crapply, so
// that rendering alone compiles neither.
package render
