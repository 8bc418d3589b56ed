package names_test

import (
	"fmt"

	"github.com/mlmesh/mlmesh/names"
)

func Example() {
	fmt.Println(names.Deployment("fraud", "v2"))
	fmt.Println(names.ServiceHost("fraud", "ml"))
	fmt.Println(names.Ingress("fraud"))
	fmt.Println(names.GatewayPolicy("istio-system", "public") + "-require-jwt")
	fmt.Println(names.GatewayRoute("fraud", 8500, 2))
	// Output:
	// fraud-v2
	// fraud.ml.svc.cluster.local
	// fraud-ingress
	// istio-system-public-require-jwt
	// fraud-8500
}
