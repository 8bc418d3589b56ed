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
