// Command llm-endpoint prints the manifests of one OpenAI-compatible host,
// llm.example.com, in front of two base models on vLLM and three LoRA
// adapters, routed by the model each request's body names: the Gateway
// API Inference Extension's body-based router on the Gateway (an ext_proc
// filter, with its Deployment, Service and TLS DestinationRule), an
// HTTPRoute rule per model name, the vLLM flags that load each adapter on
// the versions that carry it, and an OpenAI-style 404 for a model no one
// serves.
//
//	go run ./examples/llm-endpoint                # the Gateway API dialect
//	go run ./examples/llm-endpoint -api ambient   # the models in an ambient namespace
//
// -api istio is refused, at the field: the body router is a filter on a
// Gateway of the endpoint's own, which Istio's own Gateway API gives it.
package main

import (
	"github.com/mlmesh/mlmesh/internal/scenarios"
	"github.com/mlmesh/mlmesh/mesh"
)

// The App is scenarios.LLMEndpoint (internal/scenarios): the value the
// golden files of testdata pin and the conformance suite checks.
func main() {
	app := scenarios.LLMEndpoint()
	api := scenarios.APIFlag()
	switch api {
	case "ambient":
		app = scenarios.Ambient(app)
	case "istio":
		app.API = mesh.IstioAPI
	}
	scenarios.Print("llm-endpoint", app, nil)
}
