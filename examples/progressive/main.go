// Command progressive runs a metric-gated canary of the algorithm-selector
// scenario (v1 stable, v2 the candidate) against the cluster of $KUBECONFIG,
// judged on Istio's standard metrics in Prometheus.
//
//	go run ./examples/progressive -prometheus http://localhost:9090
//	go run ./examples/progressive -prometheus URL -steps 10,30,50,100 -interval 30s -min-success 99 -max-p99 500ms -failures 2
//	go run ./examples/progressive -plan     # the steps' manifests, offline
//	go run ./examples/progressive -status   # the rollout record, and exit
//	go run ./examples/progressive -prometheus URL -chart rollout.svg   # and draw it when it ends
//	go run ./examples/progressive -status -chart rollout.svg [-prometheus URL]   # draw the record now
//
// It starts from whatever is live in the namespace and what the rollout
// record (ConfigMap algo-selector-rollout) says: nothing or v1 alone (it
// applies v1 at 100% with v2 deployed dark first), a rollout it was running
// (it resumes at that step, its failed analyses counted), routes another
// manager changed (it rolls back). After a rollback it refuses v2 as it is
// unless -retry is given. It prints one line per step and
// per analysis, and exits 0 when v2 is promoted and v1 retired, 3 when it
// rolled back (all traffic on v1, v2's Deployment kept for inspection), and
// 1 on an error (the cluster stays at the step it reached; run it again to
// resume). It sends the candidate traffic only once its Deployment is
// Available (-skip-availability for an API server without controllers).
//
// -api gateway or -api ambient runs the same rollout on Gateway API
// HTTPRoutes (the gate then reads the waypoint's reports under ambient).
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"time"

	"github.com/mlmesh/mlmesh/examples/internal/cluster"
	"github.com/mlmesh/mlmesh/internal/scenarios"
	"github.com/mlmesh/mlmesh/observe"
	"github.com/mlmesh/mlmesh/render"
	"github.com/mlmesh/mlmesh/rollout"
	"github.com/mlmesh/mlmesh/rollout/promgate"
)

// Exit codes.
const (
	exitPromoted   = 0
	exitError      = 1
	exitRolledBack = 3
)

// options are the command's flags.
type options struct {
	prometheus           string
	steps                string
	interval, window     time.Duration
	minSuccess           float64
	maxP99               time.Duration
	failures, noData     int
	minRequests          float64
	errorLimit           int
	retireAfter          time.Duration
	api, chart           string
	planOnly, skip, show bool
	retry, status        bool
}

func parse(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("progressive", flag.ContinueOnError)
	fs.StringVar(&o.prometheus, "prometheus", "", "the Prometheus HTTP API's address (http://host:9090)")
	fs.StringVar(&o.steps, "steps", "10,30,50,100", "the candidate's weights in percent, rising; 100 is the promotion")
	fs.DurationVar(&o.interval, "interval", time.Minute, "time between a step and its analysis, and between analyses")
	fs.DurationVar(&o.window, "window", time.Minute, "the longest range of the metrics queries; an analysis never looks before its step")
	fs.Float64Var(&o.minSuccess, "min-success", 99, "the candidate's least success rate, in percent (non-5xx)")
	fs.DurationVar(&o.maxP99, "max-p99", 500*time.Millisecond, "the candidate's greatest 99th-percentile latency")
	fs.IntVar(&o.failures, "failures", 2, "failed analyses before rolling back")
	fs.IntVar(&o.noData, "no-data-limit", 5, "analyses in a row with too little traffic before that counts as a failure")
	fs.IntVar(&o.errorLimit, "error-limit", 3, "analyses in a row that cannot be made (Prometheus unreachable) before rolling back")
	fs.DurationVar(&o.retireAfter, "retire-after", 0, "bake time between promotion and retiring v1, v2 analysed meanwhile")
	fs.StringVar(&o.api, "api", "istio", scenarios.APIUsage)
	fs.Float64Var(&o.minRequests, "min-requests", 10, "requests to the candidate in the window needed to judge it")
	fs.BoolVar(&o.planOnly, "plan", false, "print the plan and each step's manifests, offline, and exit")
	fs.BoolVar(&o.skip, "skip-availability", false, "route to new Deployments without waiting for them to be Available (an API server without controllers)")
	fs.BoolVar(&o.retry, "retry", false, "canary again a candidate the rollout record says was rolled back")
	fs.BoolVar(&o.status, "status", false, "print the model's rollout record (step, failures, verdicts, outcome) and exit")
	fs.StringVar(&o.chart, "chart", "", "write an SVG chart of the rollout to this file when the run ends (with -status: of the record as it is): the weights, steps and verdicts, and with -prometheus each version's success rate and p99 latency")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if !o.planOnly && !o.status && o.prometheus == "" {
		return o, errors.New("-prometheus: required (or -plan to print the plan offline)")
	}
	return o, nil
}

func steps(s string) ([]int32, error) {
	var out []int32
	for _, f := range strings.Split(s, ",") {
		w, err := strconv.ParseInt(strings.TrimSpace(f), 10, 32)
		if err != nil {
			return nil, fmt.Errorf("-steps: %q is not a weight", f)
		}
		out = append(out, int32(w))
	}
	return out, nil
}

// newPlan is the rollout of the algorithm-selector scenario's v2.
func newPlan(o options) (*rollout.Plan, error) {
	weights, err := steps(o.steps)
	if err != nil {
		return nil, err
	}
	app, err := scenarios.Dialect("algorithm-selector", false, o.api)
	if err != nil {
		return nil, fmt.Errorf("-api: %w", err)
	}
	if o.api != "istio" {
		// The Gateway API's standard channel has no retries: the mesh's
		// default retries apply.
		app.Models[0].Traffic.Rules[0].Retries = nil
	}
	return rollout.NewPlan(app, "algo-selector", "v2", rollout.Strategy{Steps: weights, RetryRolledBack: o.retry, RetireAfter: o.retireAfter})
}

// run returns the exit code.
func run(ctx context.Context, w io.Writer, args []string) (int, error) {
	o, err := parse(args)
	if err != nil {
		return exitError, err
	}
	plan, err := newPlan(o)
	if err != nil {
		return exitError, err
	}
	if o.planOnly {
		return exitPromoted, printPlan(w, plan)
	}
	if o.status {
		code, err := printStatus(ctx, w, plan)
		if err == nil && o.chart != "" {
			err = writeChart(ctx, w, o, plan)
		}
		return code, err
	}
	api, err := promgate.NewAPI(o.prometheus)
	if err != nil {
		return exitError, err
	}
	gate, err := promgate.New(api, promgate.Options{Window: o.window, MinRequests: o.minRequests, Reporter: reporter(o)},
		promgate.SuccessRate(o.minSuccess), promgate.Latency(0.99, o.maxP99))
	if err != nil {
		return exitError, err
	}
	a, err := cluster.Client()
	if err != nil {
		return exitError, err
	}
	d := rollout.Driver{
		Client: a, Gate: gate, Interval: o.interval, Failures: o.failures, NoDataLimit: o.noData, ErrorLimit: o.errorLimit,
		SkipAvailability: o.skip,
		Progress:         func(e rollout.Event) { fmt.Fprintln(w, e) },
	}
	fmt.Fprint(w, plan)
	rep, err := d.Run(ctx, plan)
	if o.chart != "" {
		// Drawn whatever the outcome: a rollback or a stop is what a
		// chart is most often wanted for.
		if cerr := writeChart(context.WithoutCancel(ctx), w, o, plan); cerr != nil {
			fmt.Fprintln(w, "no chart:", cerr)
		}
	}
	if err != nil {
		return exitError, fmt.Errorf("%w (the cluster is at step %s; run again to resume)", err, rep.Step.Name())
	}
	switch rep.Outcome {
	case rollout.Succeeded:
		fmt.Fprintf(w, "promoted: %s takes all traffic; %s retired\n", plan.Candidate, plan.Stable)
		return exitPromoted, nil
	case rollout.RolledBack:
		fmt.Fprintf(w, "rolled back: %s takes all traffic; %s is kept, dark, for inspection\n", plan.Stable, plan.Candidate)
		return exitRolledBack, nil
	}
	return exitError, fmt.Errorf("stopped at step %s", rep.Step.Name())
}

// reporter is the reporter of Istio's metrics the gate reads.
func reporter(o options) string {
	if o.api == "ambient" {
		return promgate.ReporterWaypoint // no sidecars: the waypoint reports
	}
	return promgate.ReporterDestination
}

// writeChart draws the model's rollout record, and with -prometheus each
// version's figures over its time, to o.chart, and says what it drew.
func writeChart(ctx context.Context, w io.Writer, o options, p *rollout.Plan) error {
	a, err := cluster.Client()
	if err != nil {
		return err
	}
	rec, found, err := rollout.Status(ctx, a, p.Namespace, p.Model)
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("no rollout of %s/%s has run", p.Namespace, p.Model)
	}
	c := observe.NewRolloutChart(rec)
	c.MinSuccess, c.MaxLatency = o.minSuccess, float64(o.maxP99)/float64(time.Millisecond)
	if o.prometheus != "" {
		api, err := promgate.NewAPI(o.prometheus)
		if err != nil {
			return err
		}
		if err := c.Query(ctx, api, observe.ChartQuery{Reporter: reporter(o), Window: o.window}); err != nil {
			return err
		}
	}
	var b bytes.Buffer
	if err := c.WriteSVG(&b); err != nil {
		return err
	}
	if err := os.WriteFile(o.chart, b.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(w, "chart %s: %d moves, %d analyses\n", o.chart, len(c.Steps), len(c.Verdicts))
	for i := range c.Success {
		fmt.Fprintf(w, "  %s: success %s, p99 %s\n", c.Success[i].Version, span(c.Success[i], "%"), span(c.Latency[i], " ms"))
	}
	return nil
}

// span says a series' least and greatest values, and how many there are.
func span(s observe.Series, unit string) string {
	lo, hi, ok := s.Span()
	if !ok {
		return "none"
	}
	return fmt.Sprintf("%.4g–%.4g%s (%d points)", lo, hi, unit, len(s.Points))
}

// printStatus writes the model's rollout record.
func printStatus(ctx context.Context, w io.Writer, p *rollout.Plan) (int, error) {
	a, err := cluster.Client()
	if err != nil {
		return exitError, err
	}
	rec, found, err := rollout.Status(ctx, a, p.Namespace, p.Model)
	if err != nil {
		return exitError, err
	}
	if !found {
		fmt.Fprintf(w, "no rollout of %s/%s has run\n", p.Namespace, p.Model)
		return exitPromoted, nil
	}
	outcome := string(rec.Outcome)
	if outcome == "" {
		outcome = "running"
	}
	fmt.Fprintf(w, "rollout of %s/%s: %s to %s (candidate %.12s)\nat %s", rec.Namespace, rec.Model, rec.Stable, rec.Candidate, rec.Digest, rec.At)
	if rec.Moving != "" {
		fmt.Fprintf(w, ", moving to %s", rec.Moving)
	}
	analyses := "analyses"
	if rec.Failures == 1 {
		analyses = "analysis"
	}
	fmt.Fprintf(w, "; %d failed %s; %s", rec.Failures, analyses, outcome)
	if rec.Reason != "" {
		fmt.Fprintf(w, " (%s)", rec.Reason)
	}
	fmt.Fprintf(w, "; updated %s\n", rec.Updated.Format(time.RFC3339))
	for _, v := range rec.Verdicts {
		fmt.Fprintf(w, "  %s %s %s\n", v.Time.Format(time.RFC3339), v.Step, v.Summary)
	}
	return exitPromoted, nil
}

// printPlan writes the plan and each step's manifests.
func printPlan(w io.Writer, p *rollout.Plan) error {
	if _, err := fmt.Fprint(w, p); err != nil {
		return err
	}
	for _, s := range p.Steps {
		y, err := render.YAML(s.Objects)
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(w, "# step %s: %s\n%s", s.Name(), s, y); err != nil {
			return err
		}
	}
	return nil
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	code, err := run(ctx, os.Stdout, os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "progressive:", err)
	}
	os.Exit(code)
}
