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
//	go run ./examples/multicluster -kustomize DIR   # DIR/base and DIR/overlays/<cluster>
//	go run ./examples/multicluster -kubeconfigs eu.yaml,us.yaml,canary.yaml   # apply to the three
//
// -kubeconfigs applies with multicluster.Apply, make-before-break across
// the clusters (in the order eu-1, us-1, canary), and prints each
// cluster's results.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/mlmesh/mlmesh/apply"
	"github.com/mlmesh/mlmesh/examples/internal/cluster"
	"github.com/mlmesh/mlmesh/internal/scenarios/regions"
	"github.com/mlmesh/mlmesh/multicluster"
	"github.com/mlmesh/mlmesh/render"
)

func run(w io.Writer, args []string) error {
	fs := flag.NewFlagSet("multicluster", flag.ContinueOnError)
	out := fs.String("out", "", "write one directory per cluster under this directory, one file per object")
	kdir := fs.String("kustomize", "", "write a kustomize base and one overlay per cluster under this directory")
	kubeconfigs := fs.String("kubeconfigs", "", "apply to the clusters of these kubeconfig files, comma-separated, in the order eu-1, us-1, canary")
	if err := fs.Parse(args); err != nil {
		return err
	}
	app, f := regions.Fleet()
	objs, err := multicluster.Build(app, f)
	if err != nil {
		return err
	}
	switch {
	case *kubeconfigs != "":
		return applyTo(w, f, objs, strings.Split(*kubeconfigs, ","))
	case *kdir != "":
		overlays, err := multicluster.WriteKustomize(*kdir, objs)
		for _, d := range overlays {
			fmt.Fprintln(w, d)
		}
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

// applyTo applies each cluster's objects to the cluster of its kubeconfig.
func applyTo(w io.Writer, f multicluster.Fleet, objs map[string][]render.Object, paths []string) error {
	if len(paths) != len(f.Clusters) {
		return fmt.Errorf("-kubeconfigs: %d files for %d clusters (%s)", len(paths), len(f.Clusters), "eu-1, us-1, canary")
	}
	clients := map[string]apply.Client{}
	for i, c := range f.Clusters {
		client, err := cluster.ClientFor(paths[i])
		if err != nil {
			return fmt.Errorf("-kubeconfigs: %s: %w", c.Name, err)
		}
		clients[c.Name] = client
	}
	results, err := multicluster.Apply(context.Background(), clients, objs, multicluster.ApplyOptions{})
	for _, r := range results {
		for _, o := range r.Objects {
			fmt.Fprintf(w, "%s: %s\n", r.Cluster, o)
		}
	}
	return err
}

func main() {
	if err := run(os.Stdout, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "multicluster:", err)
		os.Exit(1)
	}
}
