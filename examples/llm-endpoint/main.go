// Command llm-endpoint prints the manifests of one OpenAI-compatible host,
// llm.example.com, in front of two base models on vLLM and three LoRA
// adapters, routed by the model each request's body names: the Gateway
// API Inference Extension's body-based router on the Gateway (an ext_proc
// filter, with its Deployment and Service, only the gateway let in), an
// HTTPRoute rule per model name, the vLLM flags that load each adapter on
// the versions that carry it, an OpenAI-style 404 for a model no one
// serves, callers' priority and fairness from their tokens' claims (two
// classes, interactive and batch, as InferenceObjectives), and a canary
// of the adapter "summarize" between two revisions on the same pods.
//
//	go run ./examples/llm-endpoint                # the Gateway API dialect
//	go run ./examples/llm-endpoint -api ambient   # the models in an ambient namespace
//	go run ./examples/llm-endpoint -canary -plan  # the adapter canary's steps, offline
//	go run ./examples/llm-endpoint -canary -prometheus URL   # run it on $KUBECONFIG
//
// -api istio is refused, at the field: the body router is a filter on a
// Gateway of the endpoint's own, which Istio's own Gateway API gives it.
//
// -canary moves "summarize" from revision r1 to r2 (10%, 50%, then all),
// changing nothing but the pool's InferenceModelRewrite, judged on each
// revision's success rate and time to first token as the endpoint picker
// reports them (r2's at most 100 ms above r1's, on at least 20 requests):
// exit 0 when r2 is promoted, 3 when it was rolled back, 1 on an error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/mlmesh/mlmesh/examples/internal/cluster"
	"github.com/mlmesh/mlmesh/internal/scenarios"
	"github.com/mlmesh/mlmesh/mesh"
	"github.com/mlmesh/mlmesh/rollout"
	"github.com/mlmesh/mlmesh/rollout/promgate"
)

// options are the command's flags.
type options struct {
	api, prometheus    string
	canary, plan, skip bool
	interval, window   time.Duration
	margin             time.Duration
}

func parse(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("llm-endpoint", flag.ContinueOnError)
	fs.StringVar(&o.api, "api", "gateway", `"gateway", or "ambient" (the models in an ambient namespace); "istio" is refused`)
	fs.BoolVar(&o.canary, "canary", false, "run the canary of the adapter summarize from revision r1 to r2 (with -plan: print its steps)")
	fs.BoolVar(&o.plan, "plan", false, "with -canary: print the canary's steps and each one's rewrite, offline")
	fs.StringVar(&o.prometheus, "prometheus", "", "with -canary: the Prometheus HTTP API's address, where the endpoint picker's metrics are")
	fs.DurationVar(&o.interval, "interval", time.Minute, "with -canary: time between a step and its analysis")
	fs.DurationVar(&o.window, "window", time.Minute, "with -canary: the longest range of the metrics queries")
	fs.DurationVar(&o.margin, "ttft-margin", 100*time.Millisecond, "with -canary: how much slower to first token r2 may be than r1 (p90)")
	fs.BoolVar(&o.skip, "skip-availability", false, "with -canary: do not wait for Deployments to be Available (an API server without controllers)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.canary && !o.plan && o.prometheus == "" {
		return o, errors.New("-canary: -prometheus is required (or -plan to print the steps offline)")
	}
	return o, nil
}

// app is scenarios.LLMEndpoint (internal/scenarios), the value the golden
// files of testdata pin and the conformance suite checks, in the dialect
// of -api; for the canary, with the adapter on r1 alone.
func app(o options) mesh.App {
	a := scenarios.LLMEndpoint()
	switch o.api {
	case "ambient":
		a = scenarios.Ambient(a)
	case "istio":
		a.API = mesh.IstioAPI
	}
	if o.canary {
		revs := a.Models[1].Adapters[0].Revisions
		revs[0].Weight, revs[1].Weight = 100, 0
	}
	return a
}

func run(ctx context.Context, w io.Writer, args []string) (int, error) {
	o, err := parse(args)
	if err != nil {
		return 1, err
	}
	if !o.canary {
		if err := mesh.Render(w, app(o)); err != nil {
			return 1, err
		}
		return 0, nil
	}
	p, err := rollout.NewAdapterPlan(app(o), "qwen", "summarize", "summarize-r2", rollout.Strategy{Steps: []int32{10, 50}})
	if err != nil {
		return 1, err
	}
	fmt.Fprint(w, p)
	if o.plan {
		return 0, nil
	}
	api, err := promgate.NewAPI(o.prometheus)
	if err != nil {
		return 1, err
	}
	gate, err := promgate.New(api, promgate.Options{Window: o.window, MinRequests: 20, Requests: promgate.RevisionRequests},
		promgate.RevisionSuccessRate(99),
		promgate.RevisionTimeToFirstToken(0.9, 10*time.Second).WithinOfStable(float64(o.margin)/float64(time.Millisecond)).AtLeast(20))
	if err != nil {
		return 1, err
	}
	c, err := cluster.Client()
	if err != nil {
		return 1, err
	}
	d := rollout.Driver{Client: c, Gate: gate, Interval: o.interval, Failures: 2, SkipAvailability: o.skip,
		Progress: func(e rollout.Event) { fmt.Fprintln(w, e) }}
	rep, err := d.Run(ctx, p)
	switch {
	case err != nil:
		return 1, fmt.Errorf("%w (the rewrite is at step %s; run again to resume)", err, rep.Step.Name())
	case rep.Outcome == rollout.RolledBack:
		fmt.Fprintln(w, "rolled back: summarize-r1 takes every request for summarize; r2 stays loaded for inspection")
		return 3, nil
	}
	fmt.Fprintln(w, "promoted: summarize-r2 takes every request for summarize; r1 stays loaded until the App drops it")
	return 0, nil
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	code, err := run(ctx, os.Stdout, os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "llm-endpoint:", err)
	}
	stop()
	os.Exit(code)
}
