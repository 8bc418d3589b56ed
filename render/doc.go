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
// Package apply puts the same objects into a cluster, in the same order;
// render itself does no I/O but writing bytes.
package render
