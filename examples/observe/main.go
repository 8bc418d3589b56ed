// Command observe writes what people look at and what pages them for an
// example scenario, every model given the objectives of the flags: a
// Grafana dashboard per model and the recording rules and burn-rate alerts
// of the objectives.
//
//	go run ./examples/observe -scenario llm -out DIR   # DIR/<model>.json, DIR/rules.yaml
//	go run ./examples/observe -scenario tfserving-canary -api ambient
//
// Without -out it prints the objects an install with kube-prometheus-stack
// takes (a ConfigMap per dashboard, labelled for Grafana's sidecar, and a
// PrometheusRule) as a YAML stream.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/mlmesh/mlmesh/internal/scenarios"
	"github.com/mlmesh/mlmesh/observe"
	"github.com/mlmesh/mlmesh/render"
	"github.com/mlmesh/mlmesh/slo"
)

func main() {
	if err := run(os.Stdout, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "observe:", err)
		os.Exit(1)
	}
}

func run(w io.Writer, args []string) error {
	fs := flag.NewFlagSet("observe", flag.ContinueOnError)
	scenario := fs.String("scenario", "", "the example scenario: "+strings.Join(slices.Sorted(maps.Keys(scenarios.ByName)), ", "))
	api := fs.String("api", "istio", scenarios.APIUsage)
	out := fs.String("out", "", "write DIR/<model>.json and DIR/rules.yaml instead of printing the objects")
	availability := fs.Float64("availability", 99.9, "every model's availability objective, percent (0: none)")
	p99 := fs.Duration("latency-p99", time.Second, "every model's latency objective at the 99th percentile, a bound of Istio's histogram (0: none)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *scenario == "" {
		return errors.New("-scenario: required")
	}
	app, err := scenarios.Dialect(*scenario, false, *api)
	if err != nil {
		return err
	}
	o := slo.Objective{Availability: *availability}
	if *p99 > 0 {
		o.Latency = &slo.Latency{Quantile: 0.99, Bound: *p99}
	}
	for i := range app.Models {
		app.Models[i].SLO = &o
	}
	if *out == "" {
		objs, err := observe.Objects(app, observe.Options{})
		if err != nil {
			return err
		}
		return render.WriteYAML(w, objs)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	for _, m := range app.Models {
		d, _, err := observe.Dashboard(app, m.Name)
		if err != nil {
			return err
		}
		b, err := observe.DashboardJSON(d)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(*out, m.Name+".json"), b, 0o644); err != nil {
			return err
		}
	}
	rules, err := observe.RuleFile(app, observe.Options{})
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(*out, "rules.yaml"), rules, 0o644)
}
