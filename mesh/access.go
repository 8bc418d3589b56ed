package mesh

import (
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/mlmesh/mlmesh/internal/fielderr"
	"github.com/mlmesh/mlmesh/internal/labels"
	"github.com/mlmesh/mlmesh/names"
	"github.com/mlmesh/mlmesh/render"
	"github.com/mlmesh/mlmesh/security"
	"github.com/mlmesh/mlmesh/serving"
)

// The access family: who may call each model, from Model.Access (an ALLOW
// AuthorizationPolicy <model>, a RequestAuthentication <model>, a DENY
// <model>-require-jwt of requests without a token), and the namespace's
// default deny, from Namespace.DefaultDeny (an allow-nothing policy
// "default-deny", applied after every policy that allows). Its checks
// (accesscheck.go) hold each rule to the model it guards and to the
// gateways that route to the model.

type accessFamily struct {
	env       *appEnv
	workloads *workloadFamily
	refs      refs[int] // the model of each object, -1 for the namespace's
	// By model index, for the models that build them: most build none.
	allow map[int]security.Policy
	authn map[int]security.Authentication
	token map[int]security.TokenPolicy
}

func accessPath(i int) *field.Path { return modelPath(i).Child("access") }

func deriveAccess(env *appEnv, workloads *workloadFamily) (*accessFamily, field.ErrorList) {
	var errs field.ErrorList
	f := &accessFamily{env: env, workloads: workloads,
		allow: map[int]security.Policy{}, authn: map[int]security.Authentication{}, token: map[int]security.TokenPolicy{}}
	for i, m := range env.app.Models {
		if workloads.models[i].Sidecar == serving.SidecarSkip && (m.Access != nil || env.app.Namespace.DefaultDeny) {
			// Nothing would enforce a policy on the model's pods.
			errs = append(errs, field.Invalid(modelPath(i).Child("sidecar"), serving.SidecarSkip,
				"the pods run without an Istio proxy, which enforces access and namespace.defaultDeny: no policy would protect them"))
			continue
		}
		if m.Access == nil {
			if env.app.Namespace.DefaultDeny {
				errs = append(errs, field.Required(accessPath(i), "namespace.defaultDeny denies every request to the model: say who may call it (access.allow)"))
			}
			continue
		}
		errs = append(errs, f.deriveModel(i, m)...)
	}
	return f, errs
}

func (f *accessFamily) deriveModel(i int, m Model) field.ErrorList {
	var errs field.ErrorList
	a, ap := m.Access, accessPath(i)
	sel, svcs := f.env.policyTargets(i)
	lbl := labels.Merge(m.Labels, map[string]string{labels.App: m.Name})
	for k, r := range a.Allow {
		errs = append(errs, fielderr.Reroot(ap.Child("allow").Index(k), r.Validate())...)
	}
	switch {
	case len(a.Allow) > 0:
		f.allow[i] = security.Policy{Name: m.Name, Namespace: f.env.ns, Selector: sel, Services: svcs, Rules: a.Allow, Labels: lbl}
	case f.env.app.Namespace.DefaultDeny:
		errs = append(errs, field.Required(ap.Child("allow"), "namespace.defaultDeny denies every request to the model unless a rule lets callers in"))
	}
	errs = append(errs, issuerErrors(ap.Child("jwt"), a.JWT)...)
	if len(a.JWT) > 0 {
		f.authn[i] = security.Authentication{Name: m.Name, Namespace: f.env.ns, Selector: sel, Services: svcs, JWT: a.JWT, Labels: lbl}
	}
	if !a.RequireJWT {
		return errs
	}
	if len(a.JWT) == 0 {
		errs = append(errs, field.Required(ap.Child("jwt"), "requireJWT is set: the issuers whose tokens are valid"))
	}
	var ports []uint32
	if c := f.workloads.checked[i]; c.Model() != nil {
		for k := range c.NumPorts() {
			if port := c.Port(k); port.Protocol != serving.TCP && !port.Auxiliary {
				ports = append(ports, uint32(port.Number))
			}
		}
		if len(ports) == 0 {
			errs = append(errs, field.Invalid(ap.Child("requireJWT"), true, "the model serves no HTTP or gRPC inference port to require a token on"))
		}
	}
	f.token[i] = security.TokenPolicy{Name: names.RequireJWT(m.Name), Namespace: f.env.ns, Selector: sel, Services: svcs, Ports: ports, Labels: lbl}
	return errs
}

// issuerErrors reports the problems of token rules at path: each rule's
// own, and an issuer listed twice.
func issuerErrors(path *field.Path, jwts []security.JWT) field.ErrorList {
	var errs field.ErrorList
	for k, j := range jwts {
		jp := path.Index(k)
		errs = append(errs, fielderr.Reroot(jp, j.Validate())...)
		if prev := slices.IndexFunc(jwts[:k], func(o security.JWT) bool { return o.Issuer == j.Issuer }); prev >= 0 && j.Issuer != "" {
			errs = append(errs, fielderr.Duplicate(jp.Child("issuer"), j.Issuer, fmt.Sprintf("the issuer of %s[%d]", path, prev)))
		}
	}
	return errs
}

func (f *accessFamily) objects(add adder) {
	env := f.env
	for i := range env.app.Models {
		if env.app.Models[i].Access == nil {
			continue
		}
		ref := f.refs.add(i)
		if a, ok := f.authn[i]; ok {
			add(kindRequestAuthentication, env.ns, a.Name, ref)
		}
		if a, ok := f.allow[i]; ok {
			add(kindAllowPolicy, env.ns, a.Name, ref)
		}
		if t, ok := f.token[i]; ok {
			add(kindDenyPolicy, env.ns, t.Name, ref)
		}
	}
	if env.app.Namespace.DefaultDeny {
		ref := f.refs.add(-1)
		add(kindDenyPolicy, env.ns, names.DefaultDeny, ref)
		if env.ambient() {
			add(kindAllowPolicy, env.ns, names.WaypointAllow, ref)
		}
	}
}

func (f *accessFamily) build(k kind, ref int32) (render.Object, error) {
	i := f.refs[ref]
	switch {
	case k == kindRequestAuthentication:
		return security.RequestAuthentication(f.authn[i])
	case k == kindAllowPolicy && i < 0:
		return security.AuthorizationPolicy(f.env.waypointAllow())
	case k == kindAllowPolicy:
		return security.AuthorizationPolicy(f.allow[i])
	case i < 0:
		return security.AuthorizationPolicy(security.Policy{Name: names.DefaultDeny, Namespace: f.env.ns})
	}
	return security.TokenRequired(f.token[i])
}

func (f *accessFamily) from(k kind, ref int32) *field.Path {
	i := f.refs[ref]
	switch {
	case i < 0:
		return field.NewPath("namespace", "defaultDeny")
	case k == kindRequestAuthentication:
		return accessPath(i).Child("jwt")
	case k == kindAllowPolicy:
		return accessPath(i).Child("allow")
	}
	return accessPath(i).Child("requireJWT")
}
