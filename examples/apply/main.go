// Command apply applies the objects of one of the example scenarios to the
// cluster of $KUBECONFIG with server-side apply, in make-before-break order,
// and prints one line per object with what happened.
//
//	go run ./examples/apply -scenario tfserving-canary
//	go run ./examples/apply -scenario algorithm-selector -promote
//
// With -prune it runs a transition from what mlmesh applied before in the
// namespace (found by its managed-by label) to the scenario: routes move
// before subsets and workloads are removed. -dry-run asks the server to
// validate without storing and prints what would change; -force takes over
// fields another field manager owns.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"

	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/mlmesh/mlmesh/examples/scenarios"
	"github.com/mlmesh/mlmesh/mesh"
	"github.com/mlmesh/mlmesh/render"
	"github.com/mlmesh/mlmesh/render/dynamicapply"
)

func run(ctx context.Context, w io.Writer, args []string) error {
	fs := flag.NewFlagSet("apply", flag.ContinueOnError)
	scenario := fs.String("scenario", "", "the example to apply: "+strings.Join(names(), ", "))
	promote := fs.Bool("promote", false, "apply the promoted state, where the scenario has one")
	dryRun := fs.Bool("dry-run", false, "server-side dry run: validate, store nothing, print what would change")
	force := fs.Bool("force", false, "take over fields another field manager owns")
	prune := fs.Bool("prune", false, "transition from what mlmesh applied before in the namespace, deleting what is no longer wanted")
	wait := fs.Bool("wait", false, "with -prune, wait for new Deployments to be available before routes move")
	if err := fs.Parse(args); err != nil {
		return err
	}
	app, ok := scenarios.ByName[*scenario]
	if !ok {
		return fmt.Errorf("-scenario: %q is not one of %s", *scenario, strings.Join(names(), ", "))
	}
	wanted, err := mesh.Build(app(*promote))
	if err != nil {
		return err
	}
	cfg, err := config()
	if err != nil {
		return err
	}
	a, err := applier(cfg)
	if err != nil {
		return err
	}
	opts := render.ApplyOptions{DryRun: *dryRun, Force: *force, Progress: func(r render.ObjectResult) {
		if r.Outcome == render.Failed {
			return // reported with the error
		}
		fmt.Fprintln(w, r)
		if r.Diff != "" {
			fmt.Fprint(w, r.Diff)
		}
	}}
	if *prune {
		before, err := render.Managed(ctx, a, app(*promote).Namespace.Name)
		if err != nil {
			return err
		}
		_, err = render.Transition(ctx, a, before, wanted, render.TransitionOptions{ApplyOptions: opts, WaitAvailable: *wait})
		return err
	}
	_, err = render.Apply(ctx, a, wanted, opts)
	return err
}

func names() []string {
	var out []string
	for n := range scenarios.ByName {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// config loads $KUBECONFIG (or ~/.kube/config) as kubectl does.
func config() (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("loading the cluster config ($KUBECONFIG): %w", err)
	}
	// client-go's default client-side limit (5 requests a second) would
	// pace a large App; the API server's priority and fairness still applies.
	cfg.QPS, cfg.Burst = 100, 200
	return cfg, nil
}

func applier(cfg *rest.Config) (*dynamicapply.Applier, error) {
	dc, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	disc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, err
	}
	// With the server's schemas, objects already as wanted are not sent.
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disc))
	return dynamicapply.New(dc, mapper).WithSchemas(disc.OpenAPIV3()), nil
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Stdout, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "apply:", err)
		var conflict *render.ConflictError
		if errors.As(err, &conflict) {
			fmt.Fprintln(os.Stderr, "apply: rerun with -force to take those fields over")
		}
		os.Exit(1)
	}
}
