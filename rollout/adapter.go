package rollout

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/mlmesh/mlmesh/apply"
	"github.com/mlmesh/mlmesh/internal/order"
	"github.com/mlmesh/mlmesh/mesh"
	"github.com/mlmesh/mlmesh/names"
	"github.com/mlmesh/mlmesh/serving"
)

// An adapter's rollout is a canary between two revisions of a LoRA
// adapter (serving.Adapter.Revisions) loaded side by side on the same
// pods: each step is the App with the revisions' weights set, which the
// pools' InferenceModelRewrites carry (no Deployment changes between
// steps, so no pod restarts and no extra GPU). The Driver runs it as any
// other plan: its record (AdapterRecordName), its waits for the pods, its
// gates, whose Target names the revisions as Stable and Candidate and the
// pool's Deployment as both workloads (promgate's adapter checks read the
// endpoint picker's figures by revision). It ends at the promotion: both
// revisions stay loaded, the candidate taking every request; unloading
// the old one is a change of the App's own.

// rewriteKind is what an adapter's rollout moves: the pools' rewrites.
var rewriteKind = schema.GroupKind{Group: "inference.networking.x-k8s.io", Kind: "InferenceModelRewrite"}

// NewAdapterPlan returns the steps that take the adapter named adapter of
// the model named model of app from its stable revision to candidate,
// under s (Steps or StepWeight and MaxWeight; s.Stable names the stable
// revision when the adapter has more than two). The model must route
// through InferencePools, whose endpoint pickers split the adapter's
// requests. Preview, shadow and retirement do not apply to an adapter's
// canary and are refused.
func NewAdapterPlan(app mesh.App, model, adapter, candidate string, s Strategy) (*Plan, error) {
	p := &Plan{Namespace: app.Namespace.Name, Model: model, Adapter: adapter, Candidate: candidate, strategy: s}
	mi, ai, errs := p.checkAdapter(app, s)
	if len(errs) > 0 {
		return nil, &ValidationError{Spec: "rollout.Strategy", Errors: errs}
	}
	add := func(phase Phase, weight int32) error { return p.add(phase, weight, p.adapterAt(app, mi, ai, weight)) }
	if err := add(Baseline, 0); err != nil {
		return nil, err
	}
	if err := addRamp(s, add); err != nil {
		return nil, err
	}
	return p, nil
}

// checkAdapter validates an adapter's plan against the App and returns
// the model's and the adapter's indices.
func (p *Plan) checkAdapter(app mesh.App, s Strategy) (int, int, field.ErrorList) {
	mi := slices.IndexFunc(app.Models, func(m mesh.Model) bool { return m.Name == p.Model })
	if mi < 0 {
		return 0, 0, field.ErrorList{field.NotFound(field.NewPath("model"), p.Model)}
	}
	m := app.Models[mi]
	mp := field.NewPath("models").Index(mi)
	ai := slices.IndexFunc(m.Adapters, func(a serving.Adapter) bool { return a.Name == p.Adapter })
	if ai < 0 {
		fe := field.NotFound(mp.Child("adapters"), p.Adapter)
		fe.Detail = "the adapter to roll out, by the name clients give it"
		return mi, 0, field.ErrorList{fe}
	}
	a := m.Adapters[ai]
	ap := mp.Child("adapters").Index(ai).Child("revisions")
	var errs field.ErrorList
	revs := make([]string, len(a.Revisions))
	for i, r := range a.Revisions {
		revs[i] = r.Name
	}
	switch {
	case len(a.Revisions) == 0:
		errs = append(errs, field.Required(ap, "an adapter's canary is between its revisions, loaded side by side"))
	case p.Candidate == "":
		errs = append(errs, field.Required(field.NewPath("candidate"), "the revision to roll out"))
	case !slices.Contains(revs, p.Candidate):
		errs = append(errs, field.NotFound(ap, p.Candidate))
	}
	p.Stable = s.Stable
	others := slices.DeleteFunc(slices.Clone(revs), func(r string) bool { return r == p.Candidate })
	switch {
	case p.Stable == "" && len(others) == 1:
		p.Stable = others[0]
	case p.Stable == "" && len(a.Revisions) > 0:
		errs = append(errs, field.Required(field.NewPath("stable"), "the adapter has "+fmt.Sprint(len(others))+" revisions besides the candidate: name the stable one"))
	case p.Stable != "" && !slices.Contains(others, p.Stable):
		errs = append(errs, field.NotFound(field.NewPath("stable"), p.Stable))
	}
	for i, r := range a.Revisions {
		if r.Name != p.Stable && r.Name != p.Candidate && r.Weight != 0 {
			errs = append(errs, field.Invalid(ap.Index(i).Child("weight"), r.Weight, "a revision outside the rollout keeps no share while it runs: set it to 0"))
		}
	}
	if m.Inference == nil {
		errs = append(errs, field.Required(mp.Child("inference"), "the split between an adapter's revisions is made by the InferencePools' endpoint pickers"))
	}
	switch {
	case s.Preview != nil || s.ShadowPercent != 0:
		errs = append(errs, field.Forbidden(field.NewPath("preview"), "an adapter's canary splits its requests between revisions on the same pods: no preview or shadow"))
	case s.RetireAfter != 0:
		errs = append(errs, field.Forbidden(field.NewPath("retireAfter"), "an adapter's rollout ends at the promotion, both revisions loaded: unloading the old one is a change of the App"))
	}
	return mi, ai, append(errs, checkWeights(s)...)
}

// adapterAt returns a copy of app whose adapter gives the candidate
// weight percent of its requests and the stable revision the rest.
func (p *Plan) adapterAt(app mesh.App, mi, ai int, weight int32) mesh.App {
	out := app
	out.Models = slices.Clone(app.Models)
	m := &out.Models[mi]
	m.Adapters = slices.Clone(m.Adapters)
	a := &m.Adapters[ai]
	a.Revisions = slices.Clone(a.Revisions)
	for i := range a.Revisions {
		switch a.Revisions[i].Name {
		case p.Candidate:
			a.Revisions[i].Weight = weight
		case p.Stable:
			a.Revisions[i].Weight = 100 - weight
		}
	}
	return out
}

// routeKind reports whether objects of kind gk carry where the plan's
// traffic goes: the routes, or for an adapter's plan the rewrites.
func (p *Plan) routeKind(gk schema.GroupKind) bool {
	if p.Adapter != "" {
		return gk == rewriteKind
	}
	return order.IsRoute(gk)
}

// workloads are the Deployments whose pods serve the candidate: its
// version's, or for an adapter's plan those of the versions that load the
// adapter.
func (p *Plan) workloads() []string {
	if p.Adapter == "" {
		return []string{names.Deployment(p.Model, p.Candidate)}
	}
	var out []string
	for _, m := range p.Steps[0].App.Models {
		if m.Name != p.Model {
			continue
		}
		for _, v := range m.Versions {
			if slices.ContainsFunc(m.AdaptersOf(v.Name), func(a serving.Adapter) bool { return a.Name == p.Adapter }) {
				out = append(out, names.Deployment(p.Model, v.Name))
			}
		}
	}
	return out
}

// revisionDigest identifies an adapter's candidate revision: its name and
// source.
func (p *Plan) revisionDigest() (string, error) {
	for _, m := range p.Steps[0].App.Models {
		for _, a := range m.Adapters {
			for _, r := range a.Revisions {
				if m.Name == p.Model && a.Name == p.Adapter && r.Name == p.Candidate {
					sum := sha256.Sum256([]byte(r.Name + "=" + r.Source))
					return hex.EncodeToString(sum[:]), nil
				}
			}
		}
	}
	return "", fmt.Errorf("rollout: the baseline has no revision %s of %s's adapter %s", p.Candidate, p.Model, p.Adapter)
}

// AdapterRecordName is the name of the ConfigMap that holds the rollout
// record of a model's adapter: <model>-<adapter>-rollout, the adapter's
// name made a DNS name (lower case; other characters than letters, digits,
// '-' and '.' become '-'), with a hash of it when that changed it.
func AdapterRecordName(model, adapter string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(adapter) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '.' {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	name := strings.Trim(b.String(), "-.")
	if name != adapter || len(name) > 200 {
		sum := sha256.Sum256([]byte(adapter))
		name = strings.Trim(name[:min(len(name), 200)], "-.") + "-" + hex.EncodeToString(sum[:4])
	}
	return RecordName(model + "-" + name)
}

// AdapterStatus reads the rollout record of a model's adapter, as Status
// reads a model's.
func AdapterStatus(ctx context.Context, c apply.Reader, namespace, model, adapter string) (rec Record, found bool, err error) {
	return readRecord(ctx, c, namespace, AdapterRecordName(model, adapter))
}
