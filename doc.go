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
//     Inference Protocol servers, vLLM, SGLang, custom images), with each
//     version's autoscaler, disruption budget, volumes, startup probe and
//     graceful shutdown.
//   - routing builds the VirtualService and DestinationRule of one host:
//     weighted splits that sum to 100, header and URI matches, mirroring,
//     timeouts, retries, fault injection, subsets and traffic policy.
//   - ingress builds Gateways and checks that a route's hosts are served.
//   - egress builds ServiceEntries for S3, GCS, Azure Blob and HTTPS APIs.
//   - security builds who may call a workload and what its proxy may reach:
//     AuthorizationPolicy, RequestAuthentication (JWT), PeerAuthentication,
//     the ServiceAccount of a model's pods (with cloud workload identity)
//     and Sidecar.
//   - render writes objects as a canonical YAML stream, JSON, or a file per
//     object; render/rendertest helps downstream repositories keep golden
//     files of what they build. render does no I/O but writing bytes.
//   - apply puts objects into a cluster through an apply.Client (adapters
//     for client-go, controller-runtime and an in-memory cluster under it):
//     apply.Apply, apply.Transition (from one App to the next, safe at
//     every step) and apply.Managed, sending only what differs.
//   - names holds the names mlmesh gives objects; ValidationError (in this
//     package) is the error of every spec package.
//   - rollout, above mesh and render, plans a metric-gated canary of a
//     model (a sequence of Apps) and drives a cluster through it, promoting
//     or rolling back on a Gate's verdicts; rollout/promgate is a Gate on
//     Istio's metrics in Prometheus.
//
// Each leaf package (serving, routing, ingress, egress, security) is useful alone and
// imports none of the others. Specs are plain structs whose zero values are
// documented defaults; builders are pure functions that return the typed
// objects of k8s.io/api and istio.io/client-go, which a caller may still
// edit before rendering. Errors name the field path and what was expected,
// are all reported at once, and can be matched with errors.As against each
// package's ValidationError.
//
// # From an App to bytes and to a cluster
//
// mesh.Build (and mesh.Render, which streams) takes a mesh.App through four
// steps:
//
//  1. Derive. Each object family of the App is one file of package mesh:
//     the namespace and its policy, gateways, egress, model workloads,
//     model routes, exposure on gateways, front routes, inference pools,
//     identities, access policies, gateway tokens, sidecar scoping. A
//     family turns its part of the App into the specs of the leaf packages
//     (a serving.Model with the App's namespace, a routing.Spec per model
//     with one subset per version) and checks them there (serving.Check,
//     routing.Check), re-rooting each problem at the field of the App the
//     user wrote. One function, compose, derives the families in order,
//     each from the App and the families before it.
//  2. Cross-check, once every family is derived: a route's destination is
//     a model or egress host of the App and names one of its versions;
//     each subset selects the pods of exactly one Deployment; an exposed
//     host is served by its gateway and answered by one VirtualService.
//     Every problem of every family is reported at once, as one
//     *mesh.ValidationError; nothing is built if there is one.
//  3. Order. The families list their objects by kind, namespace and name
//     in render's frozen make-before-break order, and no two may share
//     one identity.
//  4. Build, one object at a time: the leaf packages' builders return the
//     typed objects of k8s.io/api and istio.io/client-go.
//
// render then writes the objects as canonical bytes (render.WriteYAML,
// render.JSON, render.WriteDir); apply applies them with server-side apply
// through an apply.Client, in the same order (apply.Apply), or moves a
// cluster from one App to the next without a broken route at any step
// (apply.Transition).
//
// VERSIONING.md says what of all this is frozen within a major version:
// output bytes, the apply order, defaults that show in output, error paths.
//
// The examples directory holds one program per scenario of the seed
// articles; "go run ./examples/tfserving-canary" prints a 90/10 canary.
package mlmesh
