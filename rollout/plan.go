package rollout

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/mlmesh/mlmesh"
	"github.com/mlmesh/mlmesh/mesh"
	"github.com/mlmesh/mlmesh/names"
	"github.com/mlmesh/mlmesh/render"
	"github.com/mlmesh/mlmesh/routing"
	"github.com/mlmesh/mlmesh/serving"
)

// ValidationError reports every problem of a Strategy at once, each with
// its field path; it unwraps to *field.Error.
type ValidationError = mlmesh.ValidationError

// Strategy is how a candidate version takes over a model's traffic from
// the stable version. The zero value steps the candidate through 10, 20,
// 30, 40 and 50 percent, then promotes it and retires the stable version.
type Strategy struct {
	// Stable names the version the candidate takes over from; empty means
	// the model's one version other than the candidate.
	Stable string
	// Steps are the candidate's share of the traffic in percent, one step
	// each, rising, each from 1 to 99; promotion to 100 follows the last (a
	// final 100 in the list is that promotion). Empty means steps of
	// StepWeight up to MaxWeight.
	Steps []int32
	// StepWeight and MaxWeight make the steps when Steps is empty:
	// StepWeight, 2×StepWeight, … while at most MaxWeight (as Flagger's
	// stepWeight and maxWeight). 0 means 10 and 50.
	StepWeight, MaxWeight int32
	// Preview, if set, is a first phase in which only the requests that
	// match it (a header, say) reach the candidate; all others still go to
	// the stable version.
	Preview *routing.Match
	// ShadowPercent, if more than 0, is a phase before the weights in which
	// this share of the requests is mirrored to the candidate, whose
	// responses are discarded: it takes load without answering anyone.
	ShadowPercent float64
	// KeepStable keeps the stable version after promotion, deployed and
	// dark (weight 0). By default it is retired: its routes, then its
	// subset, then its Deployment are removed.
	KeepStable bool
	// RetireAfter is the bake time between promotion and retirement: the
	// candidate takes all traffic while the stable version stays deployed,
	// dark, ready to take it back. The driver analyses the candidate every
	// Interval meanwhile, and a failed analysis rolls back; a run started
	// again during the bake waits only what is left of it. 0 retires at
	// once.
	RetireAfter time.Duration
	// RetryRolledBack canaries again a candidate that the model's rollout
	// record says was rolled back. By default a run refuses it until the
	// candidate changes (its pods' template: image, model, arguments,
	// resources), which makes it a new candidate.
	RetryRolledBack bool
	// OnDrift is what a run does when the live routes are not where the
	// rollout record says the rollout is (another manager changed them: a
	// GitOps tool, a hand): DriftRollBack (the default) or DriftHold. A
	// drift is never promoted.
	OnDrift DriftPolicy
}

// DriftPolicy is what a run does about routes another manager changed.
type DriftPolicy string

// The drift policies.
const (
	// DriftRollBack moves the model to the baseline, taking ownership of
	// the fields of the routes it must restore from whoever holds them.
	DriftRollBack DriftPolicy = ""
	// DriftHold changes nothing and ends the run with an error, for a
	// person to decide.
	DriftHold DriftPolicy = "hold"
)

// Phase is what a step of a rollout does.
type Phase string

// The phases of a rollout, in order.
const (
	// Baseline: the stable version takes all traffic and the candidate is
	// deployed, dark. It is where a rollout starts and where a rollback
	// returns.
	Baseline Phase = "baseline"
	// Preview: only requests matching Strategy.Preview reach the candidate.
	Preview Phase = "preview"
	// Shadow: the candidate receives a mirrored share, answering no one.
	Shadow Phase = "shadow"
	// Canary: the candidate takes Step.Weight percent of the traffic.
	Canary Phase = "canary"
	// Promoted: the candidate takes all traffic; the stable version is dark.
	Promoted Phase = "promoted"
	// Retired: the stable version's routes, subset and Deployment are gone.
	Retired Phase = "retired"
)

// Step is one state a rollout passes through: a whole App, valid, and the
// objects it builds.
type Step struct {
	// Index is the step's position in the plan, from 0 (the baseline).
	Index int
	Phase Phase
	// Weight is the candidate's share of the split rules, in percent.
	Weight int32
	// App is the whole application at this step.
	App mesh.App
	// Objects are mesh.Build(App), in apply order.
	Objects []render.Object
	plan    *Plan
}

// Analysed reports whether the candidate is analysed at this step before
// the rollout goes on: in preview, shadow and canary steps, where it serves
// some traffic and the stable version still serves the rest.
func (s Step) Analysed() bool {
	return s.Phase == Preview || s.Phase == Shadow || s.Phase == Canary
}

// Name is the step's directory name in WriteDir and its short name in
// messages: "00-baseline", "03-canary-10".
func (s Step) Name() string {
	switch {
	case s.Phase == "":
		return "unknown" // the zero Step: where the cluster is is not known
	case s.Phase == Canary:
		return fmt.Sprintf("%02d-%s-%d", s.Index, s.Phase, s.Weight)
	}
	return fmt.Sprintf("%02d-%s", s.Index, s.Phase)
}

// Weights are the versions' shares of the model's split traffic at the
// step, in percent: in the baseline, preview and shadow steps the stable
// version's 100 and the candidate's 0 (it is given matching or mirrored
// requests only); once retired, the candidate's 100 alone. The zero Step
// has none.
func (s Step) Weights() map[string]int32 {
	p := s.plan
	if p == nil {
		return nil
	}
	switch s.Phase {
	case Canary, Promoted:
		return map[string]int32{p.Candidate: s.Weight, p.Stable: 100 - s.Weight}
	case Retired:
		return map[string]int32{p.Candidate: 100}
	}
	return map[string]int32{p.Candidate: 0, p.Stable: 100}
}

// String says what the step routes where: "canary: v2 10%, v1 90%".
func (s Step) String() string {
	p := s.plan
	if p == nil {
		return "unknown" // the zero Step
	}
	c, st := p.Candidate, p.Stable
	dark := "(deployed, dark)"
	if p.Adapter != "" {
		dark = "(loaded, dark)" // a revision on the same pods
	}
	switch s.Phase {
	case Baseline:
		return fmt.Sprintf("baseline: %s 100%%, %s 0%% %s", st, c, dark)
	case Preview:
		return fmt.Sprintf("preview: requests matching %s to %s; all others to %s", describeMatch(p.strategy.Preview), c, st)
	case Shadow:
		return fmt.Sprintf("shadow: %s 100%%; %g%% of requests mirrored to %s", st, p.strategy.ShadowPercent, c)
	case Canary:
		return fmt.Sprintf("canary: %s %d%%, %s %d%%", c, s.Weight, st, 100-s.Weight)
	case Promoted:
		return fmt.Sprintf("promoted: %s 100%%, %s 0%% %s", c, st, dark)
	}
	return fmt.Sprintf("retired: %s 100%%; %s's routes, subset and Deployment removed", c, st)
}

func describeMatch(m *routing.Match) string {
	var parts []string
	names := make([]string, 0, len(m.Headers))
	for n := range m.Headers {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		parts = append(parts, fmt.Sprintf("header %s %s %q", n, m.Headers[n].Kind, m.Headers[n].Value))
	}
	if m.URI != nil {
		parts = append(parts, fmt.Sprintf("uri %s %q", m.URI.Kind, m.URI.Value))
	}
	if m.Port != 0 {
		parts = append(parts, fmt.Sprintf("port %d", m.Port))
	}
	if len(parts) == 0 {
		return "anything"
	}
	return strings.Join(parts, " and ")
}

// Plan is the sequence of steps a rollout passes through. It is pure data:
// building it reads no cluster, and the same inputs give the same plan.
type Plan struct {
	// Namespace and Model name the model rolled out.
	Namespace, Model string
	// Adapter names the adapter rolled out, for a canary between its
	// revisions (NewAdapterPlan); empty for a rollout between versions.
	Adapter string
	// Stable and Candidate name its versions (an adapter's: revisions).
	Stable, Candidate string
	// Steps are in order: the baseline first, then the preview, shadow and
	// canary steps that are analysed, then promotion and, unless
	// KeepStable, retirement.
	Steps    []Step
	strategy Strategy
}

// NewPlan returns the steps that take the model named model of app from
// its stable version to candidate under s. Every step is a whole App that
// mesh.Build accepts; moving from one step to the next with
// apply.Transition is make-before-break. The model's rules that split its
// traffic between the two versions (the rules whose destinations name only
// the stable and candidate versions of the model, the stable one among
// them) carry the weights; its other rules are kept as they are. app is not
// changed.
func NewPlan(app mesh.App, model, candidate string, s Strategy) (*Plan, error) {
	p := &Plan{Namespace: app.Namespace.Name, Model: model, Candidate: candidate, strategy: s}
	mi, weighted, errs := p.check(app, s)
	if len(errs) > 0 {
		return nil, &ValidationError{Spec: "rollout.Strategy", Errors: errs}
	}
	add := func(phase Phase, weight int32) error {
		return p.add(phase, weight, p.appAt(app, mi, weighted, phase, weight))
	}
	if err := add(Baseline, 0); err != nil {
		return nil, err
	}
	if s.Preview != nil {
		if err := add(Preview, 0); err != nil {
			return nil, err
		}
	}
	if s.ShadowPercent > 0 {
		if err := add(Shadow, 0); err != nil {
			return nil, err
		}
	}
	if err := addRamp(s, add); err != nil {
		return nil, err
	}
	if !s.KeepStable {
		if err := add(Retired, 100); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// addRamp adds the canary steps of s and the promotion.
func addRamp(s Strategy, add func(Phase, int32) error) error {
	for _, w := range weights(s) {
		if err := add(Canary, w); err != nil {
			return err
		}
	}
	return add(Promoted, 100)
}

// add appends the step of phase and weight whose App is app.
func (p *Plan) add(phase Phase, weight int32, app mesh.App) error {
	step := Step{Index: len(p.Steps), Phase: phase, Weight: weight, App: app, plan: p}
	objs, err := mesh.Build(app)
	if err != nil {
		what := p.Model
		if p.Adapter != "" {
			what += "'s adapter " + p.Adapter
		}
		return fmt.Errorf("rollout: the %s step of %s is not a valid App: %w", phase, what, err)
	}
	step.Objects = objs
	p.Steps = append(p.Steps, step)
	return nil
}

// weights returns the canary weights of a valid strategy.
func weights(s Strategy) []int32 {
	if len(s.Steps) > 0 {
		out := slices.Clone(s.Steps)
		if out[len(out)-1] == 100 {
			out = out[:len(out)-1]
		}
		return out
	}
	step, max := s.StepWeight, s.MaxWeight
	if step == 0 {
		step = 10
	}
	if max == 0 {
		max = 50
	}
	var out []int32
	for w := step; w <= max && w < 100; w += step {
		out = append(out, w)
	}
	return out
}

// check validates the strategy against the App and returns the model's
// index and the indices of its weighted rules.
func (p *Plan) check(app mesh.App, s Strategy) (int, []int, field.ErrorList) {
	var errs field.ErrorList
	mi := slices.IndexFunc(app.Models, func(m mesh.Model) bool { return m.Name == p.Model })
	if mi < 0 {
		return 0, nil, field.ErrorList{field.NotFound(field.NewPath("model"), p.Model)}
	}
	m := app.Models[mi]
	mp := field.NewPath("models").Index(mi)
	has := func(v string) bool {
		return slices.ContainsFunc(m.Versions, func(x serving.Version) bool { return x.Name == v })
	}
	switch {
	case p.Candidate == "":
		errs = append(errs, field.Required(field.NewPath("candidate"), "the version to roll out"))
	case !has(p.Candidate):
		errs = append(errs, field.NotFound(mp.Child("versions"), p.Candidate))
	}
	p.Stable = s.Stable
	if p.Stable == "" {
		var others []string
		for _, v := range m.Versions {
			if v.Name != p.Candidate {
				others = append(others, v.Name)
			}
		}
		if len(others) == 1 {
			p.Stable = others[0]
		} else {
			errs = append(errs, field.Required(field.NewPath("stable"), fmt.Sprintf("the model has %d versions besides the candidate (%s): name the stable one", len(others), strings.Join(others, ", "))))
		}
	} else if !has(p.Stable) {
		errs = append(errs, field.NotFound(field.NewPath("stable"), p.Stable))
	} else if p.Stable == p.Candidate {
		errs = append(errs, field.Invalid(field.NewPath("stable"), p.Stable, "must differ from the candidate"))
	}
	errs = append(errs, checkWeights(s)...)
	if s.ShadowPercent < 0 || s.ShadowPercent > 100 {
		errs = append(errs, field.Invalid(field.NewPath("shadowPercent"), s.ShadowPercent, "must be from 0 to 100"))
	}
	switch {
	case s.RetireAfter < 0:
		errs = append(errs, field.Invalid(field.NewPath("retireAfter"), s.RetireAfter.String(), "must not be negative"))
	case s.RetireAfter > 0 && s.KeepStable:
		errs = append(errs, field.Invalid(field.NewPath("retireAfter"), s.RetireAfter.String(), "nothing is retired with keepStable"))
	}
	if s.Preview != nil && len(s.Preview.Headers) == 0 && s.Preview.URI == nil {
		errs = append(errs, field.Required(field.NewPath("preview", "headers"), "a preview must match some requests only: a header or a URI"))
	}
	if len(errs) > 0 {
		return mi, nil, errs
	}
	weighted, werrs := p.weightedRules(app, mi, mp)
	return mi, weighted, append(errs, werrs...)
}

func checkWeights(s Strategy) field.ErrorList {
	var errs field.ErrorList
	sp := field.NewPath("steps")
	for i, w := range s.Steps {
		switch {
		case w < 1 || w > 100:
			errs = append(errs, field.Invalid(sp.Index(i), w, "a weight is a percentage from 1 to 100"))
		case w == 100 && i != len(s.Steps)-1:
			errs = append(errs, field.Invalid(sp.Index(i), w, "100 is the promotion, and can only come last"))
		case i > 0 && w <= s.Steps[i-1]:
			errs = append(errs, field.Invalid(sp.Index(i), w, fmt.Sprintf("steps must rise: %d follows %d", w, s.Steps[i-1])))
		}
	}
	if len(s.Steps) > 0 {
		if s.StepWeight != 0 || s.MaxWeight != 0 {
			errs = append(errs, field.Forbidden(field.NewPath("stepWeight"), "give either steps or stepWeight and maxWeight"))
		}
		return errs
	}
	if s.StepWeight < 0 || s.StepWeight > 99 {
		errs = append(errs, field.Invalid(field.NewPath("stepWeight"), s.StepWeight, "must be from 1 to 99 (0 means 10)"))
	}
	if s.MaxWeight < 0 || s.MaxWeight > 99 {
		errs = append(errs, field.Invalid(field.NewPath("maxWeight"), s.MaxWeight, "must be from 1 to 99 (0 means 50); promotion to 100 follows it"))
	}
	if len(errs) == 0 && len(weights(s)) == 0 {
		// Said at the field the user wrote: a stepWeight above the
		// default maxWeight, or a maxWeight below the stepWeight.
		if s.MaxWeight == 0 {
			errs = append(errs, field.Invalid(field.NewPath("stepWeight"), s.StepWeight, "is above maxWeight's default, 50: no canary step; set maxWeight"))
		} else {
			step := s.StepWeight
			if step == 0 {
				step = 10
			}
			errs = append(errs, field.Invalid(field.NewPath("maxWeight"), s.MaxWeight, fmt.Sprintf("is below the first step (%d): no canary step", step)))
		}
	}
	return errs
}

// weightedRules returns the rules of the model that split between the two
// versions, and the problems that would make a step invalid.
func (p *Plan) weightedRules(app mesh.App, mi int, mp *field.Path) ([]int, field.ErrorList) {
	m := app.Models[mi]
	own := func(d string) bool {
		return d == "" || d == p.Model || d == names.ServiceHost(p.Model, app.Namespace.Name)
	}
	var weighted []int
	var errs field.ErrorList
	rp := mp.Child("traffic", "rules")
	for i, r := range m.Traffic.Rules {
		stable, other := false, false
		for _, d := range r.Split {
			switch {
			case !own(d.Host):
				other = true
			case d.Subset == p.Stable:
				stable = true
			case d.Subset != p.Candidate:
				other = true
			}
		}
		switch {
		case stable && !other:
			weighted = append(weighted, i)
		case stable && !p.strategy.KeepStable:
			errs = append(errs, field.Invalid(rp.Index(i).Child("split"), p.Stable,
				"routes to the stable version beside others; retiring it would leave this rule half routed: set keepStable, or route this rule to one of them"))
		}
		for j, mr := range r.Mirror {
			if own(mr.Host) && mr.Subset == p.Stable && !p.strategy.KeepStable {
				errs = append(errs, field.Invalid(rp.Index(i).Child("mirror").Index(j), p.Stable, "mirrors to the stable version, which retiring removes: set keepStable"))
			}
		}
	}
	if len(weighted) == 0 {
		errs = append(errs, field.Invalid(rp, len(m.Traffic.Rules),
			fmt.Sprintf("no rule splits the model's traffic between %s and %s, so the rollout has nothing to weight", p.Stable, p.Candidate)))
	}
	if p.strategy.ShadowPercent > 0 {
		for _, i := range weighted {
			if len(m.Traffic.Rules[i].Mirror) > 0 {
				errs = append(errs, field.Invalid(rp.Index(i).Child("mirror"), len(m.Traffic.Rules[i].Mirror), "already mirrors; the shadow phase needs the rule's mirror for the candidate"))
			}
		}
	}
	return weighted, errs
}

// appAt returns a copy of app at one step: the model's weighted rules
// carry the phase's weights, the other models and rules are shared, and
// app itself is not changed.
func (p *Plan) appAt(app mesh.App, mi int, weighted []int, phase Phase, weight int32) mesh.App {
	out := app
	out.Models = slices.Clone(app.Models)
	m := &out.Models[mi]
	rules := slices.Clone(m.Traffic.Rules)
	for _, i := range weighted {
		r := rules[i]
		port := portOf(r.Split, p.Stable)
		switch phase {
		case Retired:
			r.Split = []routing.Destination{{Subset: p.Candidate, Weight: 100, Port: port}}
		default:
			r.Split = []routing.Destination{
				{Subset: p.Stable, Weight: 100 - weight, Port: port},
				{Subset: p.Candidate, Weight: weight, Port: port},
			}
		}
		if phase == Shadow {
			r.Mirror = []routing.Mirror{{Subset: p.Candidate, Port: port, Percent: p.strategy.ShadowPercent}}
		}
		rules[i] = r
	}
	if phase == Preview {
		first := rules[weighted[0]]
		preview := routing.Rule{
			Name:    "rollout-preview",
			Match:   []routing.Match{*p.strategy.Preview},
			Split:   []routing.Destination{{Subset: p.Candidate, Port: portOf(first.Split, p.Candidate)}},
			Timeout: first.Timeout,
			Retries: first.Retries,
		}
		rules = append([]routing.Rule{preview}, rules...)
	}
	m.Traffic.Rules = rules
	if phase == Retired {
		m.Versions = slices.DeleteFunc(slices.Clone(m.Versions), func(v serving.Version) bool { return v.Name == p.Stable })
	}
	return out
}

// portOf returns the port of the destination naming subset, or 0.
func portOf(split []routing.Destination, subset string) uint32 {
	for _, d := range split {
		if d.Subset == subset {
			return d.Port
		}
	}
	return 0
}

// String lists the steps, one a line.
func (p *Plan) String() string {
	var b strings.Builder
	what := p.Model
	if p.Adapter != "" {
		what = p.Model + "'s adapter " + p.Adapter
	}
	fmt.Fprintf(&b, "rollout of %s in %s: %s to %s, %d steps\n", what, p.Namespace, p.Stable, p.Candidate, len(p.Steps))
	for _, s := range p.Steps {
		mark := ""
		if s.Analysed() {
			mark = " (analysed)"
		}
		fmt.Fprintf(&b, "  %-16s %s%s\n", s.Name(), s, mark)
	}
	return b.String()
}

// WriteDir writes each step's objects as canonical YAML into its own
// directory under dir, named by Step.Name (00-baseline, 01-canary-10, …),
// one file per object (render.WriteDir), for a GitOps repository to commit
// one step at a time. Each step's directory also holds the rollout record
// at that step (the ConfigMap RecordName(model): the versions, the
// candidate's digest, the step; the last step's says the rollout
// succeeded), so the repository and the cluster show where the rollout
// stands, and a Driver run later resumes from it. It returns the
// directories in order. If any step fails to be written, what this call
// wrote is removed.
func (p *Plan) WriteDir(dir string) ([]string, error) {
	digest, err := p.candidateDigest()
	if err != nil {
		return nil, err
	}
	var dirs, files []string
	for i, s := range p.Steps {
		d := filepath.Join(dir, s.Name())
		rec := Record{Namespace: p.Namespace, Model: p.Model, Adapter: p.Adapter, Stable: p.Stable, Candidate: p.Candidate, Digest: digest, At: s.Name()}
		if i == len(p.Steps)-1 {
			rec.Outcome = Succeeded
		}
		cm, err := rec.object()
		if err != nil {
			return nil, err
		}
		written, err := render.WriteDir(d, append(slices.Clip(s.Objects), cm))
		if err != nil {
			// render.WriteDir removed its own files; remove the earlier
			// steps' files, and their directories if nothing else is there.
			for _, f := range files {
				os.Remove(f)
			}
			for _, w := range append(dirs, d) {
				os.Remove(w)
			}
			return nil, fmt.Errorf("rollout: writing step %s: %w", s.Name(), err)
		}
		dirs, files = append(dirs, d), append(files, written...)
	}
	return dirs, nil
}
