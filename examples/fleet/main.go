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

	"github.com/mlmesh/mlmesh/internal/scenarios"
	"github.com/mlmesh/mlmesh/mesh"
)

// Fleet returns the App of n models: scenarios.AnchorFleet, which the
// re-apply benchmark (examples/fleetapply) applies too.
func Fleet(n int) mesh.App { return scenarios.AnchorFleet(n) }

func run(w io.Writer, args []string) error {
	fs := flag.NewFlagSet("fleet", flag.ContinueOnError)
	n := fs.Int("models", 1000, "number of models")
	api := fs.String("api", "istio", scenarios.APIUsage)
	ns := fs.String("namespace", "models", "the models' namespace (which exists already)")
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
	app.Namespace.Name = *ns
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
