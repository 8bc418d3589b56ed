// Command fleetapply applies the anchor fleet of ../shared/anchors (what
// examples/fleet prints) to the cluster of $KUBECONFIG, sending only what
// differs, and says what it did: the benchmark of a re-apply from a new
// process, as a CI job runs one. With -cache FILE it keeps apply's
// verdicts in FILE between runs (apply.LoadCache, Cache.Save), so that a
// run after an unchanged one compares nothing and reads no schema.
//
//	go run ./examples/fleetapply -models 1000 -namespace models -cache /tmp/fleet-cache.json
//	go run ./examples/fleetapply -models 1000 -namespace models -cache /tmp/fleet-cache.json -v2 50
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/mlmesh/mlmesh/apply"
	"github.com/mlmesh/mlmesh/examples/internal/cluster"
	"github.com/mlmesh/mlmesh/internal/scenarios"
	"github.com/mlmesh/mlmesh/mesh"
	"github.com/mlmesh/mlmesh/routing"
)

func run(ctx context.Context, w io.Writer, args []string) error {
	fs := flag.NewFlagSet("fleetapply", flag.ContinueOnError)
	n := fs.Int("models", 1000, "number of models")
	ns := fs.String("namespace", "models", "the models' namespace (created if missing)")
	v2 := fs.Int("v2", 10, "v2's weight in model-0's split (the other models keep 10)")
	cacheFile := fs.String("cache", "", "keep apply's verdicts in this file between runs")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *n < 1 {
		return fmt.Errorf("-models must be at least 1, got %d", *n)
	}
	if *v2 < 0 || *v2 > 100 {
		return fmt.Errorf("-v2 must be a weight from 0 to 100, got %d", *v2)
	}
	start := time.Now()
	app := fleet(*n, *ns, int32(*v2))
	objs, err := mesh.Build(app)
	if err != nil {
		return err
	}
	c, err := cluster.Client()
	if err != nil {
		return err
	}
	var opts apply.Options
	if *cacheFile != "" {
		if opts.Cache, err = apply.LoadCache(*cacheFile); err != nil {
			return err
		}
	}
	res, err := apply.Apply(ctx, c, objs, opts)
	if err != nil {
		return err
	}
	if *cacheFile != "" {
		if err := opts.Cache.Save(*cacheFile); err != nil {
			return err
		}
	}
	sent := len(res.Sent())
	_, err = fmt.Fprintf(w, "applied %d objects to namespace %s: %d sent, %d as wanted already (%d verdicts kept), in %v\n",
		len(res.Objects), *ns, sent, len(res.Objects)-sent, opts.Cache.Len(), time.Since(start).Round(time.Millisecond))
	return err
}

// fleet is the anchor fleet in namespace ns (created: the benchmark starts
// from an empty cluster), with v2's weight in model-0's split.
func fleet(n int, ns string, v2 int32) mesh.App {
	app := scenarios.AnchorFleet(n)
	app.Namespace.Name, app.Namespace.Existing = ns, false
	if v2 != 10 {
		m := &app.Models[0]
		m.Traffic.Rules = slices.Clone(m.Traffic.Rules)
		m.Traffic.Rules[len(m.Traffic.Rules)-1].Split = routing.SplitOf(map[string]int32{"v1": 100 - v2, "v2": v2})
	}
	return app
}

func main() {
	if err := run(context.Background(), os.Stdout, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "fleetapply:", err)
		os.Exit(1)
	}
}
