// Command fleet prints the anchor fleet of ../shared/anchors: N models in
// namespace "models", each with v1 (2 replicas, weight 90) and v2 (1 replica,
// weight 10) on TF Serving, header routing of x-model-version: v2 to v2, a
// shared ingress Gateway and an S3 ServiceEntry — 5N+2 objects, built through
// mlmesh's public API with full validation and cross-checks.
//
//	go run ./examples/fleet -models 1000 > fleet.yaml
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/mlmesh/mlmesh/egress"
	"github.com/mlmesh/mlmesh/ingress"
	"github.com/mlmesh/mlmesh/internal/scenarios"
	"github.com/mlmesh/mlmesh/mesh"
	"github.com/mlmesh/mlmesh/routing"
	"github.com/mlmesh/mlmesh/serving"
)

// Fleet returns the App of n models.
func Fleet(n int) mesh.App {
	two, one := int32(2), int32(1)
	requests := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("1"),
		corev1.ResourceMemory: resource.MustParse("2Gi"),
	}
	app := mesh.App{
		Namespace: mesh.Namespace{Name: "models", Existing: true},
		Gateways: []ingress.Spec{{
			Name:    "models-gateway",
			Servers: []ingress.Server{{Port: 80, Name: "http", Hosts: []string{"*"}}},
		}},
		Egress: []egress.Spec{{
			Name:  "model-store-s3",
			Hosts: []string{"s3.amazonaws.com"},
			Ports: []egress.Port{{Number: 443, Name: "https", Protocol: egress.TLS}},
		}},
		Models: make([]mesh.Model, n),
	}
	// What every model shares is made once, as a user writing a fleet
	// would: mlmesh copies what it changes and never writes to its input.
	rt := serving.TFServing()
	traffic := mesh.Traffic{
		Port: 8501,
		Rules: []routing.Rule{
			{
				Match: []routing.Match{{Headers: map[string]routing.StringMatch{"x-model-version": routing.Exact("v2")}}},
				Split: []routing.Destination{{Subset: "v2"}},
			},
			{Split: []routing.Destination{{Subset: "v1", Weight: 90}, {Subset: "v2", Weight: 10}}},
		},
		Policy: &routing.TrafficPolicy{TLS: routing.TLSIstioMutual},
	}
	expose := &mesh.Expose{Gateway: "models-gateway"}
	for i := range app.Models {
		name := "model-" + strconv.Itoa(i)
		app.Models[i] = mesh.Model{
			Model: serving.Model{
				Name:    name,
				Runtime: rt,
				Sidecar: serving.SidecarInject,
				Versions: []serving.Version{
					// The anchors' chart has no disruption budget: the
					// same objects as Helm's (compare.sh checks it).
					{Name: "v1", ModelURI: "s3://models/" + name + "/1", Replicas: &two, Resources: corev1.ResourceRequirements{Requests: requests}, Disruption: &serving.Disruption{None: true}},
					{Name: "v2", ModelURI: "s3://models/" + name + "/2", Replicas: &one, Resources: corev1.ResourceRequirements{Requests: requests}},
				},
			},
			Traffic: traffic,
			Expose:  expose,
		}
	}
	return app
}

func run(w io.Writer, args []string) error {
	fs := flag.NewFlagSet("fleet", flag.ContinueOnError)
	n := fs.Int("models", 1000, "number of models")
	api := fs.String("api", "istio", scenarios.APIUsage)
	if err := fs.Parse(args); err != nil {
		return err
	}
	ambient := *api == "ambient" // the Gateway API dialect, in an ambient namespace
	if ambient {
		*api = "gateway"
	}
	dialect, err := scenarios.ParseAPI(*api)
	if err != nil {
		return err
	}
	if *n < 1 {
		return fmt.Errorf("-models must be at least 1, got %d", *n)
	}
	// Stream: build and encode one object at a time, so memory does not
	// grow with the fleet's objects.
	bw := bufio.NewWriterSize(w, 1<<16)
	app := Fleet(*n)
	app.API = dialect
	if ambient {
		app = scenarios.Ambient(app)
	}
	if err := mesh.Render(bw, app); err != nil {
		return err
	}
	return bw.Flush()
}

// memoryBudget is the memory the fleet lets the Go runtime use before it
// collects garbage (BENCHMARKS.md's target is a peak RSS of at most 128 MB
// at 10,000 models). Streaming keeps the live heap small, so with the
// default GOGC=100 the collector would run every few megabytes, for about a
// quarter more CPU at 10,000 models; a batch job with a known budget does
// better to collect only near it. GOGC or GOMEMLIMIT in the environment
// take precedence.
const memoryBudget = 112 << 20

func main() {
	if os.Getenv("GOGC") == "" && os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryBudget)
		debug.SetGCPercent(-1)
	}
	if err := run(os.Stdout, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "fleet:", err)
		os.Exit(1)
	}
}
