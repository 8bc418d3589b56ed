package multicluster

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/mlmesh/mlmesh/apply"
	"github.com/mlmesh/mlmesh/internal/order"
	"github.com/mlmesh/mlmesh/render"
)

// ApplyOptions are the options of Apply.
type ApplyOptions struct {
	// Options are each cluster's apply options (field manager, force,
	// workers, cache).
	apply.Options
	// Parallel is how many clusters are worked on at once; 0 means 4.
	Parallel int
}

// ClusterResult is what Apply did in one cluster.
type ClusterResult struct {
	Cluster string
	apply.Result
	// Err is why the cluster's part failed (an *apply.Error names the
	// object), nil if it did not.
	Err error
}

// Phases of Apply, in order.
const (
	phaseMake  = "make"  // every object but the routes, DestinationRules widened
	phaseRoute = "route" // the routes
	phaseBreak = "break" // DestinationRules narrowed, unwanted objects deleted
)

// Apply checks each cluster's objects (Build's) as a whole (Check), then
// applies them to each cluster's API server in make-before-break order
// across the whole fleet, concurrently, Parallel clusters at a time:
//
//  1. in every cluster, everything but the routes: workloads, Services,
//     policy, and DestinationRules with the union of their live and
//     wanted subsets, so that a version exists, and is subsetted, in every
//     cluster before any cluster's routes send it traffic;
//  2. then, once every cluster has them, every cluster's routes;
//  3. then, in every cluster, the DestinationRules as wanted and the
//     deletion of what mlmesh applied there before and no longer wants
//     (apply.Managed's, in the App's own namespaces: not in istio-system,
//     which other Apps share), routes first.
//
// A failure in a cluster stops what depends on it: no cluster starts a
// phase until every cluster finished the one before. The error names the
// cluster; the results say what each cluster did. Applying again
// converges. Each phase is an apply.Apply per cluster, so objects already
// as wanted are skipped: re-applying an unchanged fleet sends nothing. Each
// kind in each namespace is listed once per cluster for the whole call
// (what the phases and the pruning read is kept current by the writes
// made through it), so re-applying an unchanged fleet costs, per cluster,
// one List per kind and namespace and nothing else: the kinds mlmesh
// builds in the App's namespace, and the Gateway in istio-system.
func Apply(ctx context.Context, clients map[string]apply.Client, objs map[string][]render.Object, opts ApplyOptions) ([]ClusterResult, error) {
	for _, c := range slices.Sorted(maps.Keys(objs)) {
		if clients[c] == nil {
			return nil, fmt.Errorf("multicluster: no client for cluster %s", c)
		}
	}
	if err := Check(objs); err != nil {
		return nil, err
	}
	plans := map[string]*clusterPlan{}
	results := map[string]*ClusterResult{}
	for _, c := range slices.Sorted(maps.Keys(objs)) {
		plans[c] = &clusterPlan{wanted: objs[c], client: &listOnce{Client: clients[c]}}
		results[c] = &ClusterResult{Cluster: c}
	}
	var err error
	for _, phase := range []string{phaseMake, phaseRoute, phaseBreak} {
		if err = eachCluster(ctx, opts.Parallel, plans, func(ctx context.Context, c string, p *clusterPlan) error {
			r, err := p.run(ctx, phase, opts.Options)
			results[c].Objects = append(results[c].Objects, r.Objects...)
			results[c].Err = err
			return err
		}); err != nil {
			break
		}
	}
	out := make([]ClusterResult, 0, len(results))
	for _, c := range slices.Sorted(maps.Keys(results)) {
		out = append(out, *results[c])
	}
	return out, err
}

// eachCluster runs fn for every cluster, parallel at a time (0: 4), and
// returns the first cluster's error by cluster order, naming it.
func eachCluster(ctx context.Context, parallel int, plans map[string]*clusterPlan, fn func(context.Context, string, *clusterPlan) error) error {
	if parallel <= 0 {
		parallel = 4
	}
	sem := make(chan struct{}, parallel)
	errs := map[string]error{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for c, p := range plans {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			if err := fn(ctx, c, p); err != nil {
				mu.Lock()
				errs[c] = err
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for _, c := range slices.Sorted(maps.Keys(errs)) {
		return fmt.Errorf("multicluster: cluster %s: %w", c, errs[c])
	}
	return nil
}

// clusterPlan is one cluster's part: what it wants, and what mlmesh had
// applied there (read in the first phase).
type clusterPlan struct {
	wanted []render.Object
	live   []render.Object
	client *listOnce
}

var destinationRule = schema.GroupKind{Group: "networking.istio.io", Kind: "DestinationRule"}

// run carries out one phase in one cluster.
func (p *clusterPlan) run(ctx context.Context, phase string, opts apply.Options) (apply.Result, error) {
	c := p.client
	switch phase {
	case phaseMake:
		live, err := p.readLive(ctx, c)
		if err != nil {
			return apply.Result{}, err
		}
		p.live = live
		first := slices.DeleteFunc(slices.Clone(p.wanted), isRoute)
		for i, o := range first {
			if wide := p.widened(o); wide != nil {
				first[i] = wide
			}
		}
		return apply.Apply(ctx, c, first, opts)
	case phaseRoute:
		return apply.Apply(ctx, c, slices.DeleteFunc(slices.Clone(p.wanted), func(o render.Object) bool { return !isRoute(o) }), opts)
	}
	var narrow []render.Object
	for _, o := range p.wanted {
		if p.widened(o) != nil {
			narrow = append(narrow, o)
		}
	}
	r, err := apply.Apply(ctx, c, narrow, opts)
	if err != nil {
		return r, err
	}
	// What mlmesh applied before and no longer wants, routes first: the
	// deletions of a transition from the live objects to the wanted ones.
	steps, err := apply.PlanTransition(p.live, p.wanted, apply.TransitionOptions{})
	if err != nil {
		return r, err
	}
	deletes := slices.DeleteFunc(steps, func(s apply.Action) bool { return s.Op != apply.OpDelete })
	d, err := apply.Run(ctx, c, deletes, apply.TransitionOptions{Options: opts})
	r.Objects = append(r.Objects, d.Objects...)
	return r, err
}

// readLive lists what mlmesh applied in the App's own namespaces (those
// whose Namespace the cluster's objects hold): not in shared ones such as
// istio-system, where other Apps' objects live too and nothing is pruned.
func (p *clusterPlan) readLive(ctx context.Context, c apply.Client) ([]render.Object, error) {
	var out []render.Object
	for _, o := range p.wanted {
		if o.GetObjectKind().GroupVersionKind().Kind != "Namespace" {
			continue
		}
		live, err := apply.Managed(ctx, c, o.GetName())
		if err != nil && !errors.Is(err, context.Canceled) {
			return nil, err
		}
		out = append(out, live...)
	}
	return out, nil
}

// widened is o, a DestinationRule, with the subsets its live version has
// and it no longer does, or nil when it is not one or drops none: routes
// still naming them keep working until the routes have moved.
func (p *clusterPlan) widened(o render.Object) render.Object {
	if o.GetObjectKind().GroupVersionKind().GroupKind() != destinationRule {
		return nil
	}
	for _, l := range p.live {
		if l.GetObjectKind().GroupVersionKind().GroupKind() != destinationRule || l.GetName() != o.GetName() || l.GetNamespace() != o.GetNamespace() {
			continue
		}
		steps, err := apply.PlanTransition([]render.Object{l}, []render.Object{o}, apply.TransitionOptions{})
		if err == nil && len(steps) == 2 {
			return steps[0].Object // applied widened, then as wanted
		}
	}
	return nil
}

func isRoute(o render.Object) bool {
	return order.IsRoute(o.GetObjectKind().GroupVersionKind().GroupKind())
}
