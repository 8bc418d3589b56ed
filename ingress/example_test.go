package ingress_test

import (
	"fmt"

	"github.com/mlmesh/mlmesh/ingress"
	"github.com/mlmesh/mlmesh/render"
)

// HTTPS with a redirect from HTTP.
func ExampleGateway() {
	gw, err := ingress.Gateway(ingress.Spec{
		Name:      "models",
		Namespace: "ml",
		Servers: []ingress.Server{
			{Port: 80, Hosts: []string{"models.example.com"}, HTTPSRedirect: true},
			{Port: 443, Protocol: ingress.HTTPS, Hosts: []string{"models.example.com"},
				TLS: &ingress.ServerTLS{Mode: ingress.TLSSimple, CredentialName: "models-example-com"}},
		},
	})
	if err != nil {
		panic(err)
	}
	b, _ := render.MarshalYAML(gw)
	fmt.Print(string(b))
	// Output:
	// apiVersion: networking.istio.io/v1
	// kind: Gateway
	// metadata:
	//   labels:
	//     app.kubernetes.io/managed-by: mlmesh
	//   name: models
	//   namespace: ml
	// spec:
	//   selector:
	//     istio: ingressgateway
	//   servers:
	//   - hosts:
	//     - models.example.com
	//     port:
	//       name: http-80
	//       number: 80
	//       protocol: HTTP
	//     tls:
	//       httpsRedirect: true
	//   - hosts:
	//     - models.example.com
	//     port:
	//       name: https-443
	//       number: 443
	//       protocol: HTTPS
	//     tls:
	//       credentialName: models-example-com
	//       mode: SIMPLE
}
