package egress_test

import (
	"fmt"

	"github.com/mlmesh/mlmesh/egress"
	"github.com/mlmesh/mlmesh/render"
)

// Model servers reading from S3 in one region.
func ExampleServiceEntry() {
	se, err := egress.ServiceEntry(egress.S3("model-store", "ml", "eu-west-1", "my-models"))
	if err != nil {
		panic(err)
	}
	b, _ := render.MarshalYAML(se)
	fmt.Print(string(b))
	// Output:
	// apiVersion: networking.istio.io/v1
	// kind: ServiceEntry
	// metadata:
	//   labels:
	//     app.kubernetes.io/managed-by: mlmesh
	//   name: model-store
	//   namespace: ml
	// spec:
	//   exportTo:
	//   - "."
	//   hosts:
	//   - s3.eu-west-1.amazonaws.com
	//   - my-models.s3.eu-west-1.amazonaws.com
	//   location: MESH_EXTERNAL
	//   ports:
	//   - name: tls
	//     number: 443
	//     protocol: TLS
	//   resolution: DNS
}

// An application that speaks plain HTTP to a model registry served over
// HTTPS: the sidecar originates TLS from port 80 to 443 and verifies the
// server against the proxy's CA bundle; clients that do TLS themselves use
// 443 as before.
func ExampleDestinationRules() {
	spec := egress.Spec{Name: "registry", Namespace: "ml", Hosts: []string{"models.example.com"}, Ports: egress.OriginateTLS(), ExportTo: []string{"."}}
	drs, err := egress.DestinationRules(spec)
	if err != nil {
		panic(err)
	}
	b, _ := render.MarshalYAML(drs[0])
	fmt.Print(string(b))
	// Output:
	// apiVersion: networking.istio.io/v1
	// kind: DestinationRule
	// metadata:
	//   labels:
	//     app.kubernetes.io/managed-by: mlmesh
	//   name: registry
	//   namespace: ml
	// spec:
	//   exportTo:
	//   - "."
	//   host: models.example.com
	//   trafficPolicy:
	//     portLevelSettings:
	//     - port:
	//         number: 80
	//       tls:
	//         caCertificates: /etc/ssl/certs/ca-certificates.crt
	//         mode: SIMPLE
	//         sni: models.example.com
}
