package rollout

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/mlmesh/mlmesh/apply"
	"github.com/mlmesh/mlmesh/names"
	"github.com/mlmesh/mlmesh/render"
)

// Decision is a manual gate's answer before a step.
type Decision int

// The decisions of Driver.Approve.
const (
	// Approve applies the step.
	Approve Decision = iota
	// Hold keeps the rollout where it is; the driver asks again after
	// Driver.Interval.
	Hold
	// Stop ends the run where it is; the cluster stays at the current step,
	// and a later run resumes from it.
	Stop
)

// RunOutcome is how a run ended.
type RunOutcome string

// The outcomes of a run.
const (
	// Succeeded: the candidate was promoted and takes all traffic (and,
	// unless Strategy.KeepStable, the stable version is retired).
	Succeeded RunOutcome = "succeeded"
	// RolledBack: an analysis failed often enough; all traffic is back on
	// the stable version, and the candidate is still deployed, dark, for
	// inspection.
	RolledBack RunOutcome = "rolled back"
	// Stopped: Driver.Approve said Stop.
	Stopped RunOutcome = "stopped"
)

// Report is what a run did.
type Report struct {
	Outcome RunOutcome
	// Step is the step the cluster is at: the last when promoted, the
	// baseline when rolled back, and where the run ended on an error or a
	// stop (the step to resume from). It is the zero Step, named
	// "unknown", when the run could not read where the cluster is.
	Step Step
	// Resumed is the step the run found the cluster at, when it found it
	// at one.
	Resumed *Step
	// Verdicts are the analyses, in order.
	Verdicts []Verdict
}

// EventKind is what an Event tells.
type EventKind string

// The kinds of events.
const (
	// Resumed: the run found the cluster at Step and goes on from there.
	Resumed EventKind = "resumed"
	// Applied: the cluster was moved to Step.
	Applied EventKind = "applied"
	// Analysed: Verdict is the analysis of Step.
	Analysed EventKind = "analysed"
	// Held: Driver.Approve, or a confirm hook (Reason says which), held
	// the rollout before Step.
	Held EventKind = "held"
	// RollingBack: Step's analyses failed Driver.Failures times, or the
	// live routes drifted from the record (Reason says which).
	RollingBack EventKind = "rolling back"
	// HookFailed: a Rollback or PostRollout hook failed (Reason says
	// which, and why); the rollout is as it was.
	HookFailed EventKind = "hook failed"
	// Restarting: the candidate changed under a rollout the record says is
	// at Step, and the run starts it over from the baseline (Reason says
	// what changed).
	Restarting EventKind = "restarting"
	// Unanalysed: the gate could not analyse Step (Err says why); Errors
	// counts such analyses in a row, toward Driver.ErrorLimit.
	Unanalysed EventKind = "unanalysed"
	// Baking: the candidate is promoted (Step) and the stable version is
	// retired after Strategy.RetireAfter; Left is what remains of it.
	Baking EventKind = "baking"
)

// Event is one thing a run did, for Driver.Progress.
type Event struct {
	Kind EventKind
	Step Step
	// Verdict is the analysis, for Analysed.
	Verdict *Verdict
	// Failures counts the failed analyses of the rollout so far.
	Failures int
	// Errors counts the analyses in a row that could not be made, for
	// Unanalysed; Err is the last one's error.
	Errors int
	Err    error
	// Left is what remains of the bake time, for Baking.
	Left time.Duration
	// Result is what the move to Step did to each object, for Applied.
	Result apply.Result
	// Reason is why, for RollingBack (the failed analyses, or the drift)
	// and Restarting (the change).
	Reason string
	// TookFrom are the field managers whose route fields a rollback took
	// over, for RollingBack: a rollback always wins.
	TookFrom []string
}

// String reads like a log line: "analysed 03-canary-10: pass: success-rate
// 100% (...)", "applied 03-canary-10 (canary: v2 10%, v1 90%): 1 object
// changed".
func (e Event) String() string {
	switch e.Kind {
	case Analysed:
		return fmt.Sprintf("analysed %s: %s", e.Step.Name(), e.Verdict)
	case Applied:
		changed := len(e.Result.With(apply.Created, apply.Configured, apply.Applied, apply.Deleted))
		return fmt.Sprintf("applied %s (%s): %s changed", e.Step.Name(), e.Step, count(changed, "object", "objects"))
	case RollingBack:
		reason := e.Reason
		if reason == "" {
			reason = failedAnalyses(e.Failures)
		}
		s := fmt.Sprintf("rolling back from %s: %s", e.Step.Name(), reason)
		if len(e.TookFrom) > 0 {
			s += " (taking the routes' fields from " + strings.Join(e.TookFrom, ", ") + ")"
		}
		return s
	case Restarting:
		return fmt.Sprintf("restarting from %s: %s", e.Step.Name(), e.Reason)
	case Held:
		if e.Reason != "" {
			return fmt.Sprintf("held before %s: %s", e.Step.Name(), e.Reason)
		}
	case HookFailed:
		return fmt.Sprintf("%s at %s: %s", e.Kind, e.Step.Name(), e.Reason)
	case Unanalysed:
		return fmt.Sprintf("could not analyse %s (%s in a row): %v", e.Step.Name(), count(e.Errors, "error", "errors"), e.Err)
	case Baking:
		stable := "the stable version"
		if e.Step.plan != nil {
			stable = e.Step.plan.Stable
		}
		return fmt.Sprintf("baking %s: %s is retired in %s unless an analysis fails", e.Step.Name(), stable, e.Left)
	}
	return fmt.Sprintf("%s %s (%s)", e.Kind, e.Step.Name(), e.Step)
}

// Driver runs a plan against a cluster: it applies a step, waits, analyses
// the candidate, and then advances, holds, or rolls back. It is resumable:
// a run reads the live objects and goes on from the step the cluster is at,
// so a run started again after a crash, a cancellation or an error never
// jumps traffic. The zero value of each field is its documented default.
type Driver struct {
	// Client reads the live objects (to find the step the cluster is at)
	// and applies the steps: one of the adapters under apply, or a wrapper
	// of one.
	Client apply.Client
	// Gate analyses the candidate at each analysed step; nil passes every
	// analysis (a rollout stepped on time alone).
	Gate Gate
	// Interval is the time between applying a step and its first analysis,
	// and between analyses; 0 means one minute. Give it a few of the
	// metrics' scrapes: an analysis looks no further back than the time the
	// step was reached (Target.Since).
	Interval time.Duration
	// Passes is how many passing analyses a step needs before the rollout
	// goes on; 0 means 1.
	Passes int
	// Failures is how many failed analyses, over the whole rollout, roll
	// it back; 0 means 1. The rollout record keeps the count: a run
	// started again (after a crash, a cancellation) goes on counting.
	Failures int
	// ErrorLimit is how many analyses in a row may fail to be made (the
	// metrics backend unreachable, a query refused) before the rollout is
	// rolled back; 0 means 3. Each is tried again after Interval; the
	// rollout record keeps the count across runs. An error is never a pass,
	// and a rollout never stays on a candidate it cannot judge.
	ErrorLimit int
	// NoDataLimit is how many analyses in a row may find too little
	// traffic to judge (NoData) before that counts as one failed analysis;
	// 0 means 5. Until then the rollout holds its step.
	NoDataLimit int
	// Approve, if set, is asked before each step after the baseline is
	// applied; see Decision.
	Approve func(ctx context.Context, next Step) (Decision, error)
	// Progress, if set, is told of each step found, applied and analysed.
	Progress func(Event)
	// Hooks are called at the phases of every rollout (see HookPhase):
	// approvals, acceptance tests, load generation, notifications.
	Hooks []Hook
	// Apply are the options of every move between steps (apply.Transition):
	// field manager, Force, WaitTimeout, Workers. A Cache is made for the
	// run when none is given. WaitAvailable is the driver's to set: see
	// SkipAvailability.
	Apply apply.TransitionOptions
	// SkipAvailability routes traffic to a new or changed Deployment
	// without waiting for it to report Available: only for clusters with no
	// controllers (an API server alone). By default every move waits,
	// before any route changes, for the Deployments it changed, and a wait
	// past Apply.WaitTimeout counts as a failed analysis of the candidate.
	SkipAvailability bool
	// Sleep waits for d or until ctx is done; nil waits on a timer.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the time the rollout record stamps on verdicts and writes;
	// nil is time.Now. Sleep and Now are the driver's only uses of time.
	Now func() time.Time
}

func (d *Driver) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

func (d *Driver) interval() time.Duration { return orDefault(d.Interval, time.Minute) }

func orDefault[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

func (d *Driver) sleep(ctx context.Context, dur time.Duration) error {
	if d.Sleep != nil {
		return d.Sleep(ctx, dur)
	}
	t := time.NewTimer(dur)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (d *Driver) emit(e Event) {
	if d.Progress != nil {
		d.Progress(e)
	}
}

// Run carries out p from the step the cluster is at (the baseline when the
// model is not deployed yet) to its end: promoted (Succeeded), rolled back,
// or stopped by Approve. Moves between steps are apply.Transitions, make before
// break, and are never cut short: when ctx is done Run lets the move under
// way finish and returns ctx's error with the Report's Step where the
// cluster is. An analysis that cannot be made (Prometheus unreachable, say)
// is tried again after Interval, and ErrorLimit of them in a row roll back:
// nothing is ever a pass for want of data, and no candidate keeps traffic
// it cannot be judged on.
func (d *Driver) Run(ctx context.Context, p *Plan) (Report, error) {
	if d.Client == nil {
		return Report{}, errors.New("rollout: the Driver has no Client")
	}
	opts := d.options()
	opts.WaitAvailable = !d.SkipAvailability
	r, live, err := d.begin(ctx, p, opts)
	if err != nil {
		return Report{}, err
	}
	at, found, lerr := p.Locate(live)
	if drift := r.drift(p, at, found, lerr); drift != "" {
		return d.drifted(ctx, opts, p, r, live, drift)
	}
	if lerr != nil {
		return Report{}, lerr
	}
	if r.restart != "" && found && at > 0 {
		d.emit(Event{Kind: Restarting, Step: p.Steps[at], Reason: r.restart})
		at, found = 0, false
	}
	rep := Report{Step: p.Steps[at]}
	if found {
		rep.Resumed = &p.Steps[at]
		d.emit(Event{Kind: Resumed, Step: p.Steps[at]})
	}
	// A rollout that starts here is confirmed before anything moves.
	if !r.running && at == 0 {
		if err := d.confirm(ctx, ConfirmRollout, r, p.Steps[0]); err != nil {
			return rep, err
		}
	}
	// Bring the cluster exactly to the step: correct drift, finish a move
	// cut short, prune what an interrupted retirement left.
	if failed, err := d.advance(ctx, opts, r, live, p.Steps[at], &rep); failed != "" {
		return d.rollBack(ctx, opts, p, r, p.Steps[at], live, failed, &rep)
	} else if err != nil {
		return rep, err
	}
	return d.steps(ctx, opts, p, r, at, &rep)
}

// RollBack moves the cluster back to the plan's baseline now, from
// whatever step it is at — after the plan succeeded too, if its stable
// version is still deployed (Strategy.KeepStable) — and records the
// rollback with reason, as a failed rollout's: what a coordinator of
// several clusters does to those that took a candidate when another
// failed (package multicluster's waves). A rollback always wins: it takes
// the routes' fields from whichever manager holds them. A record that
// already says rolled back is left as it is.
func (d *Driver) RollBack(ctx context.Context, p *Plan, reason string) (Report, error) {
	if d.Client == nil {
		return Report{}, errors.New("rollout: the Driver has no Client")
	}
	opts := d.options()
	if rec, found, err := p.status(ctx, d.Client); err != nil {
		return Report{}, err
	} else if found && rec.Outcome == RolledBack && rec.Candidate == p.Candidate {
		return Report{Outcome: RolledBack, Step: p.Steps[0]}, nil
	}
	r, live, err := d.begin(ctx, p, opts)
	if err != nil {
		return Report{}, err
	}
	from := p.Steps[0]
	if at, found, _ := p.Locate(live); found {
		from = p.Steps[at]
	}
	if from.Phase == Retired {
		return Report{Step: from}, fmt.Errorf("rollout: %s/%s retired %s: there is nothing to roll back to (plan with Strategy.KeepStable)", p.Namespace, p.Model, p.Stable)
	}
	rep := Report{Step: from}
	return d.rollBack(ctx, opts, p, r, from, live, reason, &rep)
}

// options are a run's own copy of the driver's apply options (a Driver
// may run several plans), with a cache and the field manager set.
func (d *Driver) options() apply.TransitionOptions {
	opts := d.Apply
	if opts.Cache == nil {
		opts.Cache = &apply.Cache{}
	}
	if opts.FieldManager == "" {
		opts.FieldManager = apply.DefaultFieldManager
	}
	return opts
}

// begin opens the plan's record and reads the live objects.
func (d *Driver) begin(ctx context.Context, p *Plan, opts apply.TransitionOptions) (*journal, []render.Object, error) {
	r, err := d.open(ctx, p, opts.FieldManager)
	if err != nil {
		return nil, nil, err
	}
	live, err := apply.Managed(ctx, d.Client, p.Namespace)
	if err != nil {
		return nil, nil, fmt.Errorf("rollout: reading the live objects: %w", err)
	}
	return r, live, nil
}

// steps takes the cluster from step at, where it is, to the plan's end:
// each step is judged (analysed, or baked before retirement), the move to
// the next readied (hooks, Approve), and made.
func (d *Driver) steps(ctx context.Context, opts apply.TransitionOptions, p *Plan, r *journal, at int, rep *Report) (Report, error) {
	for i := at; ; i++ {
		s := p.Steps[i]
		rep.Step = s
		if i == len(p.Steps)-1 {
			rep.Outcome = Succeeded
			err := r.end(ctx, Succeeded, "")
			if err == nil && i > at { // this run finished it
				c := r.call(p, s)
				c.Outcome = Succeeded
				d.tell(ctx, PostRollout, c)
			}
			return *rep, err
		}
		next := p.Steps[i+1]
		var failed string
		var stop bool
		var err error
		switch {
		case s.Analysed():
			failed, err = d.analyse(ctx, p, s, r, rep)
		case next.Phase == Retired:
			failed, err = d.bake(ctx, p, s, r, rep)
		}
		if failed == "" && err == nil {
			failed, stop, err = d.ready(ctx, s, next, r)
		}
		if stop {
			rep.Outcome = Stopped
			return *rep, r.end(ctx, Stopped, "stopped by Approve")
		}
		if failed == "" && err == nil {
			failed, err = d.advance(ctx, opts, r, s.Objects, next, rep)
		}
		if failed != "" {
			return d.rollBack(ctx, opts, p, r, s, s.Objects, failed, rep)
		}
		if err != nil {
			return *rep, err
		}
	}
}

// advance moves the cluster from before to next. A move whose Deployments
// do not become Available in time changes no route; it counts as a failed
// analysis of the candidate and is tried again after Interval, until the
// failures reach Driver.Failures (the reason to roll back is returned).
func (d *Driver) advance(ctx context.Context, opts apply.TransitionOptions, j *journal, before []render.Object, next Step, rep *Report) (string, error) {
	p := next.plan
	for {
		err := d.candidateAvailable(ctx, opts, next)
		if err == nil {
			var moved bool
			moved, err = d.moveTo(ctx, opts, j, before, next)
			if moved {
				rep.Step = next
			}
		}
		if !errors.Is(err, apply.ErrNotAvailable) {
			return "", err
		}
		detail := "Deployment " + p.Namespace + "/" + p.workloads()[0] + " " + err.Error()
		if ae := (*apply.Error)(nil); errors.As(err, &ae) {
			detail = ae.Failed.Object + " " + ae.Failed.Err.Error()
		}
		v := Verdict{Result: Fail, Measurements: []Measurement{{Name: "available", Value: math.NaN(), Stable: math.NaN(), Result: Fail, Detail: detail}}}
		if failed, err := d.judged(ctx, next, j, v, true, rep); failed != "" || err != nil {
			return failed, err
		}
		if err := d.sleep(ctx, d.interval()); err != nil {
			return "", err
		}
	}
}

// move takes the cluster from before to step, whole even when ctx is done
// meanwhile, and reports whether it got there, and then ctx's error, if
// any.
func (d *Driver) move(ctx context.Context, opts apply.TransitionOptions, before []render.Object, step Step) (bool, error) {
	res, err := apply.Transition(context.WithoutCancel(ctx), d.Client, before, step.Objects, opts)
	if err != nil {
		return false, fmt.Errorf("rollout: moving to step %s: %w", step.Name(), err)
	}
	d.emit(Event{Kind: Applied, Step: step, Result: res})
	return true, ctx.Err()
}

// candidateAvailable waits, unless d.SkipAvailability, for the candidate's
// Deployment before a move to a step that sends it traffic (every step
// but the baseline), whether or not the move changes it: a Deployment the
// last move created, or one that lost its pods since, is not ready just
// because it is unchanged.
func (d *Driver) candidateAvailable(ctx context.Context, opts apply.TransitionOptions, next Step) error {
	if !opts.WaitAvailable || next.Phase == Baseline {
		return nil
	}
	p := next.plan
	for _, w := range p.workloads() {
		if !slices.ContainsFunc(next.Objects, func(o render.Object) bool {
			return o.GetName() == w && o.GetObjectKind().GroupVersionKind().Kind == "Deployment"
		}) {
			continue // not in this cluster (package multicluster): its pods run elsewhere
		}
		if err := apply.WaitAvailable(ctx, d.Client, p.Namespace, w, opts.WaitTimeout); err != nil {
			return err
		}
	}
	return nil
}

// target is what the gate analyses at s: the cluster reached s at the
// record's Since.
// For an adapter's plan, both revisions are served by the same pods: the
// workloads are both the first that loads the adapter.
func (p *Plan) target(s Step, since time.Time) Target {
	t := Target{Namespace: p.Namespace, Model: p.Model, Stable: p.Stable, Candidate: p.Candidate,
		StableWorkload: names.Deployment(p.Model, p.Stable), CandidateWorkload: names.Deployment(p.Model, p.Candidate), Step: s, Since: since}
	if w := p.workloads(); p.Adapter != "" && len(w) > 0 {
		t.StableWorkload, t.CandidateWorkload = w[0], w[0]
	}
	return t
}

// analyse analyses step s until it passes d.Passes times (""), or returns
// why the rollout must roll back: the failures reached d.Failures, or the
// analyses that could not be made reached d.ErrorLimit.
func (d *Driver) analyse(ctx context.Context, p *Plan, s Step, j *journal, rep *Report) (string, error) {
	passes, noData := 0, 0
	for passes < orDefault(d.Passes, 1) {
		ok, failed, err := d.rolloutHooks(ctx, s, j, rep)
		if failed != "" || err != nil {
			return failed, err
		}
		if err := d.sleep(ctx, d.interval()); err != nil || !ok {
			if err != nil {
				return "", err
			}
			continue
		}
		v, failed, err := d.analyseOnce(ctx, p, s, j)
		if failed != "" || err != nil {
			return failed, err
		}
		fail := v.Result == Fail
		switch v.Result {
		case "": // could not be made; tried again
			continue
		case Pass:
			passes, noData = passes+1, 0
		case NoData:
			if noData++; noData >= orDefault(d.NoDataLimit, 5) {
				noData, fail = 0, true // counts as one failed analysis
			}
		}
		if failed, err := d.judged(ctx, s, j, v, fail, rep); failed != "" || err != nil {
			return failed, err
		}
	}
	return "", nil
}

// analyseOnce asks the gate about s. An error it counts in the record: the
// verdict is then empty, or, at d.ErrorLimit errors in a row, the reason to
// roll back is returned.
func (d *Driver) analyseOnce(ctx context.Context, p *Plan, s Step, j *journal) (Verdict, string, error) {
	gate := d.Gate
	if gate == nil {
		gate = GateFunc(func(context.Context, Target) (Verdict, error) { return Verdict{Result: Pass}, nil })
	}
	v, err := gate.Analyse(ctx, p.target(s, j.rec.Since))
	if err == nil {
		j.rec.Errors = 0
		return v, "", nil
	}
	if ctxErr := ctx.Err(); ctxErr != nil && errors.Is(err, ctxErr) {
		return Verdict{}, "", ctxErr
	}
	j.rec.Errors++
	if serr := j.save(ctx); serr != nil {
		return Verdict{}, "", serr
	}
	d.emit(Event{Kind: Unanalysed, Step: s, Errors: j.rec.Errors, Err: err, Failures: j.rec.Failures})
	if limit := orDefault(d.ErrorLimit, 3); j.rec.Errors >= limit {
		return Verdict{}, fmt.Sprintf("after %s that could not be made, the last: %v", count(limit, "analysis", "analyses"), err), nil
	}
	return Verdict{}, "", nil
}

// judged records v, an analysis of s (counted toward d.Failures when
// fail), and says why the rollout must roll back once the failures reach
// d.Failures.
func (d *Driver) judged(ctx context.Context, s Step, j *journal, v Verdict, fail bool, rep *Report) (string, error) {
	rep.Verdicts = append(rep.Verdicts, v)
	if fail {
		j.rec.Failures++
	}
	j.recordVerdict(s, v)
	if err := j.save(ctx); err != nil {
		return "", err
	}
	d.emit(Event{Kind: Analysed, Step: s, Verdict: &v, Failures: j.rec.Failures})
	if j.rec.Failures >= orDefault(d.Failures, 1) {
		return failedAnalyses(j.rec.Failures), nil
	}
	return "", nil
}

// bake keeps the candidate promoted at s for the plan's RetireAfter,
// counted from when the cluster reached s (the record's Since, so a run
// started again waits only what is left), analysing it every Interval: a
// failed analysis (or ErrorLimit errors) rolls back while the stable
// version is still deployed. NoData is no failure here: with the stable
// version dark, a check relative to it has nothing to compare with.
func (d *Driver) bake(ctx context.Context, p *Plan, s Step, j *journal, rep *Report) (string, error) {
	bake := p.strategy.RetireAfter
	if bake <= 0 {
		return "", nil
	}
	since := j.rec.Since
	if since.IsZero() {
		since = d.now()
	}
	announced := false
	for {
		left := bake - d.now().Sub(since)
		if left <= 0 {
			return "", nil
		}
		if !announced {
			d.emit(Event{Kind: Baking, Step: s, Left: left})
			announced = true
		}
		ok, failed, err := d.rolloutHooks(ctx, s, j, rep)
		if failed != "" || err != nil {
			return failed, err
		}
		if err := d.sleep(ctx, min(left, d.interval())); err != nil {
			return "", err
		}
		if d.Gate == nil || !ok {
			continue
		}
		v, failed, err := d.analyseOnce(ctx, p, s, j)
		if failed != "" || err != nil {
			return failed, err
		}
		if v.Result == "" || v.Result == NoData {
			continue
		}
		if failed, err := d.judged(ctx, s, j, v, v.Result == Fail, rep); failed != "" || err != nil {
			return failed, err
		}
	}
}

// approve asks d.Approve about next until it approves (false) or stops
// (true).
func (d *Driver) approve(ctx context.Context, next Step) (bool, error) {
	if d.Approve == nil {
		return false, ctx.Err()
	}
	for {
		dec, err := d.Approve(ctx, next)
		if err != nil {
			return false, fmt.Errorf("rollout: approving step %s: %w", next.Name(), err)
		}
		switch dec {
		case Approve:
			return false, ctx.Err()
		case Stop:
			return true, nil
		}
		d.emit(Event{Kind: Held, Step: next})
		if err := d.sleep(ctx, d.interval()); err != nil {
			return false, err
		}
	}
}

// failedAnalyses is the reason of a rollback for failed analyses: "after 2
// failed analyses".
func failedAnalyses(n int) string {
	return "after " + count(n, "failed analysis", "failed analyses")
}

// count writes n with the noun's singular or plural: "1 object", "2 objects".
func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
