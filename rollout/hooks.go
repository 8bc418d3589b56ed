package rollout

import (
	"context"
	"fmt"
	"math"
	"time"
)

// HookPhase is when a Hook is called. The names are Flagger's webhook
// types, and so are the consequences of a failure, but for Rollback.
type HookPhase string

// The phases of a rollout that call hooks, in order.
const (
	// ConfirmRollout: before a rollout moves anything (a run that starts
	// it, not one that resumes it). A failure holds the rollout; the hook
	// is asked again after Driver.Interval (manual approval).
	ConfirmRollout HookPhase = "confirm-rollout"
	// PreRollout: before the candidate gets any traffic (before the first
	// step after the baseline): acceptance tests, say. A failure aborts:
	// the rollout is rolled back, the candidate never having had traffic.
	PreRollout HookPhase = "pre-rollout"
	// ConfirmTrafficIncrease: before each step that gives the candidate
	// more traffic (a preview, the shadow, each canary weight). A failure
	// holds, and the hook is asked again after Driver.Interval.
	ConfirmTrafficIncrease HookPhase = "confirm-traffic-increase"
	// Rollout: at the start of every analysis interval, before the traffic
	// the analysis judges: the place for a load generator that gives a
	// quiet candidate enough requests to judge (Flagger's load tester). A
	// failure counts as a failed analysis.
	Rollout HookPhase = "rollout"
	// ConfirmPromotion: before promotion. A failure holds, and the hook
	// is asked again after Driver.Interval.
	ConfirmPromotion HookPhase = "confirm-promotion"
	// Rollback: as a rollback begins, with its reason. Unlike Flagger's
	// rollback webhook (a gate asked during analysis, whose success
	// forces a rollback) it is told, not asked: a failure is reported in an
	// event and the rollback goes on.
	Rollback HookPhase = "rollback"
	// PostRollout: after the rollout ended, promoted or rolled back. A
	// failure is reported in an event and changes nothing.
	PostRollout HookPhase = "post-rollout"
)

// Hook is a callback at a phase of every rollout a Driver runs: Go code of
// one's own, or an HTTP webhook (package rollout/webhook sends Flagger's
// payload, so services written for Flagger work unchanged).
type Hook struct {
	// Name names it in events and verdicts: "load-test".
	Name  string
	Phase HookPhase
	// Call runs the hook; an error is its failure.
	Call func(ctx context.Context, c HookCall) error
	// Timeout bounds each call; 0 means one minute. A call past it fails.
	Timeout time.Duration
}

// HookCall is what a hook is told.
type HookCall struct {
	Phase HookPhase
	// Hook is the hook's own name.
	Hook              string
	Namespace, Model  string
	Stable, Candidate string
	// Digest identifies the candidate (Record.Digest): Flagger's checksum.
	Digest string
	// Step is the step about to be applied (the confirm phases,
	// PreRollout), analysed (Rollout), rolled back from (Rollback), or
	// where the rollout ended (PostRollout).
	Step Step
	// Outcome is how the rollout ended, for PostRollout.
	Outcome RunOutcome
	// Reason says why, for Rollback and PostRollout: the failed analyses,
	// a drift, a hook.
	Reason string
}

// hooks calls d's hooks of phase in order, and returns the first failure
// as "hook NAME (phase): error".
func (d *Driver) hooks(ctx context.Context, phase HookPhase, c HookCall) error {
	for _, h := range d.Hooks {
		if h.Phase != phase || h.Call == nil {
			continue
		}
		c.Phase, c.Hook = phase, h.Name
		hctx, cancel := context.WithTimeout(ctx, orDefault(h.Timeout, time.Minute))
		err := h.Call(hctx, c)
		cancel()
		if err != nil {
			if ctxErr := ctx.Err(); ctxErr != nil {
				return ctxErr
			}
			return fmt.Errorf("hook %s (%s): %w", h.Name, phase, err)
		}
	}
	return nil
}

// call is a HookCall about p at s.
func (j *journal) call(p *Plan, s Step) HookCall {
	return HookCall{Namespace: p.Namespace, Model: p.Model, Stable: p.Stable, Candidate: p.Candidate, Digest: j.rec.Digest, Step: s}
}

// confirm asks the hooks of a confirm phase about next until they all
// succeed, holding (an event, a sleep of Interval) while one fails.
func (d *Driver) confirm(ctx context.Context, phase HookPhase, j *journal, next Step) error {
	for {
		err := d.hooks(ctx, phase, j.call(next.plan, next))
		if err == nil || ctx.Err() != nil {
			return err
		}
		d.emit(Event{Kind: Held, Step: next, Reason: err.Error()})
		if err := d.sleep(ctx, d.interval()); err != nil {
			return err
		}
	}
}

// tell calls the hooks of a phase that cannot change the rollout
// (Rollback, PostRollout); a failure is an event.
func (d *Driver) tell(ctx context.Context, phase HookPhase, c HookCall) {
	if err := d.hooks(ctx, phase, c); err != nil {
		d.emit(Event{Kind: HookFailed, Step: c.Step, Reason: err.Error()})
	}
}

// rolloutHooks calls the Rollout hooks at the start of an analysis of s
// (ok when they all succeed). A failure is a failed analysis, recorded:
// the reason to roll back is returned once the failures reach
// Driver.Failures.
func (d *Driver) rolloutHooks(ctx context.Context, s Step, j *journal, rep *Report) (ok bool, failed string, err error) {
	herr := d.hooks(ctx, Rollout, j.call(s.plan, s))
	if herr == nil || ctx.Err() != nil {
		return herr == nil, "", ctx.Err()
	}
	v := Verdict{Result: Fail, Measurements: []Measurement{{Name: "hook", Value: math.NaN(), Stable: math.NaN(), Result: Fail, Detail: herr.Error()}}}
	failed, err = d.judged(ctx, s, j, v, true, rep)
	return false, failed, err
}

// ready runs what must hold before the move from s to next: the
// PreRollout hooks before the candidate's first traffic (a failure is the
// reason to roll back), the confirm hooks of next's phase, and Approve
// (stop: it said Stop).
func (d *Driver) ready(ctx context.Context, s, next Step, j *journal) (failed string, stop bool, err error) {
	if s.Phase == Baseline {
		if err := d.hooks(ctx, PreRollout, j.call(next.plan, next)); err != nil {
			if ctx.Err() != nil {
				return "", false, ctx.Err()
			}
			return err.Error(), false, nil
		}
	}
	switch next.Phase {
	case Preview, Shadow, Canary:
		err = d.confirm(ctx, ConfirmTrafficIncrease, j, next)
	case Promoted:
		err = d.confirm(ctx, ConfirmPromotion, j, next)
	}
	if err != nil {
		return "", false, err
	}
	stop, err = d.approve(ctx, next)
	return "", stop, err
}
