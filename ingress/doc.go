// Package ingress synthesizes Istio Gateways: the ports, hosts and TLS an
// ingress gateway serves, and the check that a route's hosts are served by
// the gateway it binds to.
//
// The smallest use:
//
//	gw, err := ingress.Gateway(ingress.Spec{
//		Name:      "models",
//		Namespace: "serving",
//		Servers:   []ingress.Server{{Port: 80, Hosts: []string{"models.example.com"}}},
//	})
//
// The selector defaults to istio: ingressgateway, the protocol to HTTP and
// the port name to "<protocol>-<port>".
package ingress
