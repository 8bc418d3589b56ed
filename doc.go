// Package mlmesh turns a short, typed Go description of machine-learning
// models and their versions into the Kubernetes and Istio objects that serve
// them, and writes them as canonical manifests.
//
// The packages, from the entry point down:
//
//   - mesh composes a whole application: a namespace with its injection and
//     mTLS settings, models and how traffic reaches their versions, ingress
//     gateways, egress to model stores. mesh.Build validates everything at
//     once, cross-checks the objects (every route's subset exists and selects
//     one version, every gateway host is served, no two objects collide) and
//     returns them in make-before-break apply order.
//   - serving builds a model's workloads: a Deployment per version and one
//     Service, from runtime presets (TF Serving, Triton, TorchServe, Open
//     Inference Protocol servers, custom images).
//   - routing builds the VirtualService and DestinationRule of one host:
//     weighted splits that sum to 100, header and URI matches, mirroring,
//     timeouts, retries, fault injection, subsets and traffic policy.
//   - ingress builds Gateways and checks that a route's hosts are served.
//   - egress builds ServiceEntries for S3, GCS, Azure Blob and HTTPS APIs.
//   - render writes objects as a canonical YAML stream, JSON, or a file per
//     object; render/rendertest helps downstream repositories keep golden
//     files of what they build.
//
// Each leaf package (serving, routing, ingress, egress) is useful alone and
// imports none of the others. Specs are plain structs whose zero values are
// documented defaults; builders are pure functions that return the typed
// objects of k8s.io/api and istio.io/client-go, which a caller may still
// edit before rendering. Errors name the field path and what was expected,
// are all reported at once, and can be matched with errors.As against each
// package's ValidationError.
//
// The examples directory holds one program per scenario of the seed
// articles; "go run ./examples/tfserving-canary" prints a 90/10 canary.
package mlmesh
