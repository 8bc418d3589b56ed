package multicluster

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/mlmesh/mlmesh/mesh"
	"github.com/mlmesh/mlmesh/rollout"
)

// NewRolloutPlans returns, for each cluster of the fleet, the rollout
// plan of a model's candidate (rollout.NewPlan, under s) as that cluster
// has it: each step's objects are the cluster's, its workloads only those
// of the versions placed there. The candidate must run somewhere.
func NewRolloutPlans(app mesh.App, f Fleet, model, candidate string, s rollout.Strategy) (map[string]*rollout.Plan, error) {
	if err := f.Validate(app); err != nil {
		return nil, err
	}
	idx := f.index()
	if !slices.ContainsFunc(f.Clusters, func(c Cluster) bool { return idx.runs(model, candidate, c.Name) }) {
		return nil, fmt.Errorf("multicluster: %s's %s runs in no cluster of the fleet: place it first", model, candidate)
	}
	plans := make(map[string]*rollout.Plan, len(f.Clusters))
	for _, c := range f.Clusters {
		p, err := rollout.NewPlan(clusterApp(app, c, idx), model, candidate, s)
		if err != nil {
			return nil, fmt.Errorf("multicluster: cluster %s: %w", c.Name, err)
		}
		for i := range p.Steps {
			p.Steps[i].Objects = idx.only(p.Steps[i].Objects, c)
		}
		plans[c.Name] = p
	}
	return plans, nil
}

// Waves rolls a candidate out cluster by cluster: each wave's clusters run
// their plans (NewRolloutPlans) at once with their own Drivers (each its
// client, gate and hooks: a Prometheus per cluster), and a wave starts
// only when every cluster of the one before succeeded. When a cluster
// rolls back (or fails), every cluster that took the candidate, in the
// waves before and in its own, is rolled back too (rollout.Driver.RollBack,
// each recording why), and no later wave starts: the canary cluster first
// (Waves[0]), then the rest, or region by region. With more than one wave
// the plans keep the stable version (Strategy.KeepStable), so a later
// wave's failure can still roll the earlier ones back; retire it once
// every wave succeeded.
type Waves struct {
	Plans   map[string]*rollout.Plan
	Drivers map[string]*rollout.Driver
	Waves   [][]string
}

// Run runs the waves and returns each cluster's report, and an error that
// names the cluster when one could not finish (a rollback is not an
// error: see the reports' outcomes).
func (w Waves) Run(ctx context.Context) (map[string]rollout.Report, error) {
	if err := w.check(); err != nil {
		return nil, err
	}
	reports := map[string]rollout.Report{}
	var took []string // the clusters that took the candidate
	for _, wave := range w.Waves {
		var mu sync.Mutex
		errs := map[string]error{}
		var wg sync.WaitGroup
		for _, c := range wave {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rep, err := w.Drivers[c].Run(ctx, w.Plans[c])
				mu.Lock()
				defer mu.Unlock()
				reports[c] = rep
				if err != nil {
					errs[c] = err
				}
			}()
		}
		wg.Wait()
		took = append(took, wave...)
		failed := slices.Sorted(maps.Keys(errs))
		for _, c := range wave {
			if reports[c].Outcome == rollout.RolledBack && !slices.Contains(failed, c) {
				failed = append(failed, c)
			}
		}
		if len(failed) == 0 {
			continue
		}
		slices.Sort(failed)
		reason := "cluster " + strings.Join(failed, ", ") + " rolled back or failed"
		rerr := w.rollBack(ctx, took, failed, reason, reports)
		if len(errs) > 0 {
			return reports, fmt.Errorf("multicluster: cluster %s: %w", failed[0], errs[failed[0]])
		}
		return reports, rerr
	}
	return reports, nil
}

// rollBack rolls back every cluster that took the candidate but those
// that rolled back on their own.
func (w Waves) rollBack(ctx context.Context, took, failed []string, reason string, reports map[string]rollout.Report) error {
	var firstErr error
	for _, c := range took {
		if reports[c].Outcome == rollout.RolledBack {
			continue
		}
		rep, err := w.Drivers[c].RollBack(ctx, w.Plans[c], reason)
		reports[c] = rep
		if err != nil && firstErr == nil {
			firstErr = fmt.Errorf("multicluster: rolling back cluster %s: %w", c, err)
		}
	}
	return firstErr
}

// check refuses waves that name a cluster twice or one without a plan or
// a driver, and several waves of plans that retire the stable version.
func (w Waves) check() error {
	seen := map[string]bool{}
	for i, wave := range w.Waves {
		for _, c := range wave {
			switch {
			case seen[c]:
				return fmt.Errorf("multicluster: waves[%d] names cluster %s again", i, c)
			case w.Plans[c] == nil || w.Drivers[c] == nil:
				return fmt.Errorf("multicluster: waves[%d]: cluster %s has no plan or no driver", i, c)
			}
			seen[c] = true
			last := w.Plans[c].Steps[len(w.Plans[c].Steps)-1]
			if len(w.Waves) > 1 && last.Phase == rollout.Retired {
				return fmt.Errorf("multicluster: cluster %s's plan retires %s, which a later wave's failure could not roll back to: plan with Strategy.KeepStable", c, w.Plans[c].Stable)
			}
		}
	}
	return nil
}
