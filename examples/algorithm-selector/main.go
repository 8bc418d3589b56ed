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

	"github.com/mlmesh/mlmesh/egress"
	"github.com/mlmesh/mlmesh/ingress"
	"github.com/mlmesh/mlmesh/mesh"
	"github.com/mlmesh/mlmesh/render"
	"github.com/mlmesh/mlmesh/routing"
	"github.com/mlmesh/mlmesh/serving"
)

const ns = "algorithm-selector"

func app(promote bool) mesh.App {
	split := map[string]int32{"v1": 70, "v2": 30}
	if promote {
		split = map[string]int32{"v1": 0, "v2": 100}
	}
	return mesh.App{
		Namespace: mesh.Namespace{Name: ns},
		Egress:    []egress.Spec{egress.S3("featurestore-s3", "", "us-east-1", "algorithm-selector-features")},
		Gateways: []ingress.Gateway{{
			Name:    "algorithm-selector-gateway",
			Servers: []ingress.Server{{Port: 31400, Hosts: []string{"*"}}},
		}},
		Models: []mesh.Model{{
			Model: serving.Model{
				Name: "algo-selector",
				Versions: []serving.Version{
					{Name: "v1", ModelURI: "s3://algorithm-selector-models/algo-selector/1"},
					{Name: "v2", ModelURI: "s3://algorithm-selector-models/algo-selector/2"},
				},
			},
			Traffic: mesh.Traffic{
				Rules: []routing.Rule{{
					Split:   mesh.SplitOf(split),
					Timeout: 10e9, // 10s: inference is slow, but not unbounded
					Retries: &routing.Retries{Attempts: 1, RetryOn: []string{"connect-failure", "refused-stream"}},
				}},
			},
			Expose: &mesh.Expose{Gateway: "algorithm-selector-gateway"},
		}},
	}
}

func run(w io.Writer, args []string) error {
	fs := flag.NewFlagSet("algorithm-selector", flag.ContinueOnError)
	promote := fs.Bool("promote", false, "print the promoted state: 100% of traffic on v2")
	if err := fs.Parse(args); err != nil {
		return err
	}
	objs, err := mesh.Build(app(*promote))
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
