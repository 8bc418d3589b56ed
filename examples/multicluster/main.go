// Command multicluster prints, or writes, the objects of one App across a
// fleet of three clusters of one Istio mesh on two networks: eu-1
// (europe-west1) and us-1 (us-east1) run fraud's v1, the canary cluster (in
// us-east1) its v2, and every cluster has the routes and traffic policy its
// callers need (v1 90%, v2 10%, failing over between the regions), its
// network on the namespace, and the east-west gateway the other network
// reaches it through.
//
//	go run ./examples/multicluster            # each cluster's stream, one after another
//	go run ./examples/multicluster -out DIR   # DIR/<cluster>/, one file per object
package main

import (
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"

	"github.com/mlmesh/mlmesh/internal/scenarios"
	"github.com/mlmesh/mlmesh/multicluster"
	"github.com/mlmesh/mlmesh/render"
)

func run(w io.Writer, args []string) error {
	fs := flag.NewFlagSet("multicluster", flag.ContinueOnError)
	out := fs.String("out", "", "write one directory per cluster under this directory, one file per object")
	if err := fs.Parse(args); err != nil {
		return err
	}
	app, f := scenarios.Fleet()
	objs, err := multicluster.Build(app, f)
	if err != nil {
		return err
	}
	if *out != "" {
		dirs, err := multicluster.WriteDir(*out, objs)
		for _, d := range dirs {
			fmt.Fprintln(w, d)
		}
		return err
	}
	for _, c := range slices.Sorted(maps.Keys(objs)) {
		fmt.Fprintf(w, "# cluster %s\n", c)
		if err := render.WriteYAML(w, objs[c]); err != nil {
			return err
		}
	}
	return nil
}

func main() {
	if err := run(os.Stdout, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "multicluster:", err)
		os.Exit(1)
	}
}
