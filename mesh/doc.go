// Package mesh is mlmesh's entry point: it composes an application's models,
// routes, ingress and egress into one set of Kubernetes and Istio objects,
// cross-checked and in apply order.
//
// The smallest use:
//
//	objs, err := mesh.Build(mesh.App{
//		Namespace: mesh.Namespace{Name: "ml"},
//		Models: []mesh.Model{{
//			Model: serving.Model{Name: "resnet", Versions: []serving.Version{{Name: "v1", ModelURI: "s3://models/resnet/1"}}},
//		}},
//	})
//	err = render.WriteYAML(os.Stdout, objs)
//
// Build reports every problem of the App at once as a *ValidationError whose
// paths start at the App ("models[0].traffic.rules[1].split"). Beyond each
// package's own validation it checks the objects together: a destination
// names a model or egress host of the App and an existing version; each
// subset selects the pods of exactly one Deployment; each host exposed on a
// gateway is served by it and answered by one VirtualService only; no two
// objects share a kind, namespace and name.
//
// Who may call a model is Model.Access (an AuthorizationPolicy for its pods,
// a RequestAuthentication, a token requirement), with Namespace.DefaultDeny
// for a namespace that denies what no policy allows, Model.Identity for the
// ServiceAccount its pods run as, App.GatewayJWT and Expose.RequireJWT for
// tokens at a gateway, and Namespace.ScopeSidecars for proxies that receive
// only what the model calls. Build holds them to the rest of the App: a
// rule's ports and paths are the model's, its callers exist, an exposed
// model lets its gateway in, and a gateway keeps the tokens a model checks.
//
// A model with several inference ports (TF Serving's gRPC and REST) is
// routed on each port by the same rules, so both kinds of client see the
// same split; ports its runtime marks Auxiliary (metrics, management) take
// no rules, and rules match their port whenever the Service has others.
// Traffic.Port pins routing to one port instead.
//
// App.API chooses the routing dialect: Istio's own APIs (VirtualService,
// DestinationRule subsets, Gateway), or Kubernetes' Gateway API (HTTPRoutes
// attached to a model's Service and to Gateways of class istio, a Service
// per version); gatewayapi.go holds what differs.
//
// App.Endpoints are OpenAI-compatible hosts serving several models and
// their LoRA adapters, routed by the model named in each request's body
// (the Inference Extension's body router, an ext_proc filter on the
// endpoint's Gateway), with an OpenAI-style 404 for a model no one serves
// and the endpoint picker's priority and fairness taken from the caller's
// token alone (catalog.go, endpoint.go).
//
// The package is one file per object family (see compose.go); each derives
// its objects from the App, checks them, and builds them.
package mesh
