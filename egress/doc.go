// Package egress synthesizes Istio ServiceEntries for what a model server
// reaches outside the mesh: model stores (S3, GCS, Azure Blob) and external
// HTTPS APIs. With an outbound policy of REGISTRY_ONLY, a workload reaches
// only what a ServiceEntry names; with ALLOW_ANY, the entry still gives the
// traffic a name in telemetry and a place for policy.
//
// The smallest use:
//
//	se, err := egress.ServiceEntry(egress.S3("model-store", "serving", "eu-west-1"))
//
// Entries are MESH_EXTERNAL, resolved by DNS, on port 443 speaking TLS unless
// the Spec says otherwise. A port with OriginateTLS (see the OriginateTLS
// ports: 80 as TLS to 443, beside 443) lets the application speak plain
// HTTP while the sidecar does TLS: a DestinationRule per host originates it
// and verifies the server against the proxy's CA bundle.
package egress
