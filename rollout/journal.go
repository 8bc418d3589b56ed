package rollout

import (
	"context"
	"fmt"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"

	"github.com/mlmesh/mlmesh/apply"
	"github.com/mlmesh/mlmesh/internal/labels"
	"github.com/mlmesh/mlmesh/render"
)

// journal is a run's rollout record and the means to write it: every
// decision is written before the driver acts on it.
type journal struct {
	d       *Driver
	manager string
	rec     Record
	// running: the record was of this candidate and its rollout had not
	// ended (or was stopped, to be resumed), so the live routes must be
	// where it says.
	running bool
	// restart says why the run starts the rollout over from the baseline:
	// the record was of a running rollout of this candidate, since changed.
	restart string
}

// open reads the model's record and decides what this run may do: go on
// with a rollout of the same candidate (its failed analyses counted), or
// start afresh (no record, another candidate, a changed one, or
// Strategy.RetryRolledBack); a candidate the record says was rolled back
// is refused. A candidate changed under a running rollout starts over from
// the baseline: it has earned none of the traffic the old one had. The
// journal writes the record as manager.
func (d *Driver) open(ctx context.Context, p *Plan, manager string) (*journal, error) {
	digest, err := p.candidateDigest()
	if err != nil {
		return nil, err
	}
	old, found, err := p.status(ctx, d.Client)
	if err != nil {
		return nil, err
	}
	fresh := Record{Namespace: p.Namespace, Model: p.Model, Adapter: p.Adapter, Stable: p.Stable, Candidate: p.Candidate, Digest: digest}
	j := &journal{d: d, manager: manager, rec: fresh}
	ended := old.Outcome != "" && old.Outcome != Stopped
	sameVersions := found && old.Stable == p.Stable && old.Candidate == p.Candidate
	switch {
	case sameVersions && old.Digest != digest && !ended:
		j.restart = p.Candidate + " changed since the rollout reached " + old.At
		return j, nil
	case !sameVersions || old.Digest != digest || old.Outcome == RolledBack && p.strategy.RetryRolledBack:
		return j, nil
	case old.Outcome == RolledBack:
		return nil, fmt.Errorf("rollout: %s of %s/%s was rolled back (%s, %s): it is not canaried again as it is; change it, or set Strategy.RetryRolledBack",
			p.Candidate, p.Namespace, p.Model, old.Reason, old.Updated.Format("2006-01-02 15:04:05Z07:00"))
	}
	j.rec, j.running = old, !ended
	j.rec.Outcome, j.rec.Reason = "", ""
	return j, nil
}

// save writes the record, stamped with the driver's time. It is written
// whole even when ctx is done: a decision must not be lost.
func (j *journal) save(ctx context.Context) error {
	j.rec.Updated = j.d.now().UTC()
	cm, err := j.rec.object()
	if err != nil {
		return err
	}
	_, err = apply.Apply(context.WithoutCancel(ctx), j.d.Client, []render.Object{cm}, apply.Options{FieldManager: j.manager, Force: true})
	if err != nil {
		return fmt.Errorf("rollout: writing the rollout record %s/%s: %w", j.rec.Namespace, j.rec.name(), err)
	}
	return nil
}

// end records how the rollout ended.
func (j *journal) end(ctx context.Context, outcome RunOutcome, reason string) error {
	j.rec.Outcome, j.rec.Reason, j.rec.Moving = outcome, reason, ""
	return j.save(ctx)
}

// drift says how the live routes differ from where the record says a
// running rollout is, or "" when they do not (or nothing is running).
func (j *journal) drift(p *Plan, at int, found bool, locateErr error) string {
	if !j.running {
		return ""
	}
	switch {
	case locateErr != nil:
		return "the live routes are at no step of the plan; the record says " + j.rec.At
	case !found && j.rec.At != p.Steps[0].Name():
		return "the live routes send everything to " + p.Stable + "; the record says " + j.rec.At
	case found && p.Steps[at].Name() != j.rec.At && p.Steps[at].Name() != j.rec.Moving:
		return "the live routes are at " + p.Steps[at].Name() + "; the record says " + j.rec.At
	}
	return ""
}

// drifted takes the action of the plan's drift policy: hold (an error,
// nothing changed) or roll back (never promote).
func (d *Driver) drifted(ctx context.Context, opts apply.TransitionOptions, p *Plan, j *journal, live []render.Object, drift string) (Report, error) {
	if p.strategy.OnDrift == DriftHold {
		return Report{}, fmt.Errorf("rollout: %s/%s drifted: %s; holding (Strategy.OnDrift)", p.Namespace, p.Model, drift)
	}
	at := Step{Phase: "drifted", Index: -1, plan: p}
	for _, s := range p.Steps {
		if s.Name() == j.rec.At {
			at = s
		}
	}
	rep := Report{Step: at}
	return d.rollBack(ctx, opts, p, j, at, live, "drift: "+drift, &rep)
}

// moveTo takes the cluster from before to step, recording the move first
// and its end after.
func (d *Driver) moveTo(ctx context.Context, opts apply.TransitionOptions, j *journal, before []render.Object, step Step) (bool, error) {
	j.rec.Moving = step.Name()
	if err := j.save(ctx); err != nil {
		// A first move of a model whose namespace the move creates has
		// nothing yet to protect: the record follows the move.
		if j.rec.At != "" || !apierrors.IsNotFound(err) {
			return false, err
		}
	}
	moved, err := d.move(ctx, opts, before, step)
	if moved {
		if j.rec.At != step.Name() || j.rec.Since.IsZero() {
			j.rec.Since = d.now().UTC() // a move to where it was changes no weight
			j.rec.Moves = append(j.rec.Moves, RecordedMove{Step: step.Name(), Time: j.rec.Since, Weights: step.Weights()})
		}
		j.rec.At, j.rec.Moving = step.Name(), ""
		if serr := j.save(ctx); serr != nil && err == nil {
			err = serr
		}
	}
	return moved, err
}

// rollBack records the rollback and why, then moves the model to the
// baseline from before. A rollback always wins: it takes the fields of the
// routes it must restore from whichever manager holds them, and says whom.
func (d *Driver) rollBack(ctx context.Context, opts apply.TransitionOptions, p *Plan, j *journal, from Step, before []render.Object, reason string, rep *Report) (Report, error) {
	j.rec.Outcome, j.rec.Reason = RolledBack, reason
	if err := j.save(ctx); err != nil {
		return *rep, err
	}
	took := d.routeOwners(ctx, p, j.manager)
	d.emit(Event{Kind: RollingBack, Step: from, Failures: j.rec.Failures, Reason: reason, TookFrom: took})
	// A rollback always wins, and never waits: it sends the traffic back
	// to the version that was serving it.
	opts.Force, opts.WaitAvailable = true, false
	c := j.call(p, from)
	c.Reason = reason
	d.tell(ctx, Rollback, c)
	moved, err := d.moveTo(ctx, opts, j, before, p.Steps[0])
	if moved {
		rep.Outcome, rep.Step = RolledBack, p.Steps[0]
		c.Outcome, c.Step = RolledBack, p.Steps[0]
		d.tell(ctx, PostRollout, c)
	}
	return *rep, err
}

// routeOwners are the field managers other than manager that own fields of
// the model's live routes.
func (d *Driver) routeOwners(ctx context.Context, p *Plan, manager string) []string {
	live, err := apply.Managed(ctx, d.Client, p.Namespace)
	if err != nil {
		return nil
	}
	var out []string
	for _, o := range live {
		if !p.routeKind(o.GetObjectKind().GroupVersionKind().GroupKind()) || o.GetLabels()[labels.App] != p.Model {
			continue
		}
		m, err := meta.Accessor(o)
		if err != nil {
			continue
		}
		for _, e := range m.GetManagedFields() {
			if e.Manager != manager && e.Subresource == "" && !slices.Contains(out, e.Manager) {
				out = append(out, e.Manager)
			}
		}
	}
	slices.Sort(out)
	return out
}

// recordVerdict adds an analysis to the record.
func (j *journal) recordVerdict(s Step, v Verdict) {
	j.rec.Verdicts = append(j.rec.Verdicts, RecordedVerdict{Step: s.Name(), Time: j.d.now().UTC(), Conclusion: v.Result, Summary: strings.TrimSpace(v.String())})
}
