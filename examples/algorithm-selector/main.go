// Command algorithm-selector prints the manifests of the algorithm selector of
// seeds 000 and 002: a namespace with sidecar injection, a ServiceEntry that
// lets the model servers read the S3 feature store, an ingress Gateway on port
// 31400, and a 70/30 canary between v1 and v2. With -promote it prints the
// promoted state: all traffic on v2, v1 kept running at weight 0 for a quick
// rollback.
//
//	go run ./examples/algorithm-selector [-promote]
package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/mlmesh/mlmesh/examples/scenarios"
	"github.com/mlmesh/mlmesh/mesh"
	"github.com/mlmesh/mlmesh/render"
)

func run(w io.Writer, args []string) error {
	fs := flag.NewFlagSet("algorithm-selector", flag.ContinueOnError)
	promote := fs.Bool("promote", false, "print the promoted state: 100% of traffic on v2")
	if err := fs.Parse(args); err != nil {
		return err
	}
	objs, err := mesh.Build(scenarios.AlgorithmSelector(*promote))
	if err != nil {
		return err
	}
	return render.WriteYAML(w, objs)
}

func main() {
	if err := run(os.Stdout, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "algorithm-selector:", err)
		os.Exit(1)
	}
}
