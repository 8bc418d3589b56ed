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

	"github.com/mlmesh/mlmesh/apply"
	"github.com/mlmesh/mlmesh/examples/internal/cluster"
	"github.com/mlmesh/mlmesh/internal/scenarios"
	"github.com/mlmesh/mlmesh/mesh"
)

func run(ctx context.Context, w io.Writer, args []string) error {
	fs := flag.NewFlagSet("apply", flag.ContinueOnError)
	scenarioName := fs.String("scenario", "", "the example to apply: "+strings.Join(names(), ", "))
	api := fs.String("api", "istio", scenarios.APIUsage)
	promote := fs.Bool("promote", false, "apply the promoted state, where the scenario has one")
	dryRun := fs.Bool("dry-run", false, "server-side dry run: validate, store nothing, print what would change")
	force := fs.Bool("force", false, "take over fields another field manager owns")
	prune := fs.Bool("prune", false, "transition from what mlmesh applied before in the namespace, deleting what is no longer wanted")
	wait := fs.Bool("wait", false, "with -prune, wait for new Deployments to be available before routes move")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if _, ok := scenarios.ByName[*scenarioName]; !ok {
		return fmt.Errorf("-scenario: %q is not one of %s", *scenarioName, strings.Join(names(), ", "))
	}
	app, err := scenarios.Dialect(*scenarioName, *promote, *api)
	if err != nil {
		return err
	}
	wanted, err := mesh.Build(app)
	if err != nil {
		return err
	}
	a, err := cluster.Client()
	if err != nil {
		return err
	}
	opts := apply.Options{DryRun: *dryRun, Force: *force, Progress: func(r apply.ObjectResult) {
		if r.Outcome == apply.Failed {
			return // reported with the error
		}
		fmt.Fprintln(w, r)
		if r.Diff != "" {
			fmt.Fprint(w, r.Diff)
		}
	}}
	if *prune {
		before, err := apply.Managed(ctx, a, app.Namespace.Name)
		if err != nil {
			return err
		}
		_, err = apply.Transition(ctx, a, before, wanted, apply.TransitionOptions{Options: opts, WaitAvailable: *wait})
		return err
	}
	_, err = apply.Apply(ctx, a, wanted, opts)
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

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Stdout, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "apply:", err)
		var conflict *apply.ConflictError
		if errors.As(err, &conflict) {
			fmt.Fprintln(os.Stderr, "apply: rerun with -force to take those fields over")
		}
		os.Exit(1)
	}
}
