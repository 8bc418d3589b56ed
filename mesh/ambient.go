package mesh

import (
	"fmt"

	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/mlmesh/mlmesh/ingress"
	"github.com/mlmesh/mlmesh/internal/labels"
	"github.com/mlmesh/mlmesh/names"
	"github.com/mlmesh/mlmesh/render"
	"github.com/mlmesh/mlmesh/security"
	"github.com/mlmesh/mlmesh/serving"
)

// Ambient mode (Namespace.Injection InjectAmbient), across the families:
// the namespace's dataplane-mode label and its waypoint (namespace.go);
// pods without a sidecar and Services that use the waypoint
// (workloads.go); the models' policies attached to their Services, where
// the waypoint applies them, and, under a default deny, the policy that
// lets the waypoint through the nodes' ztunnels (access.go).

// maxPolicyTargets is the most Services a policy may target (Istio's
// targetRefs take 16): the model's and one per version.
const maxPolicyTargets = 16

// waypoint is the name of the namespace's waypoint.
func (ns Namespace) waypoint() string {
	if ns.Waypoint == "" {
		return names.Waypoint
	}
	return ns.Waypoint
}

// ambientErrors checks the namespace's ambient settings against the rest
// of the App.
func ambientErrors(env *appEnv) field.ErrorList {
	ns, path := env.app.Namespace, field.NewPath("namespace")
	if ns.Injection != InjectAmbient {
		if ns.Waypoint != "" {
			return field.ErrorList{field.Invalid(path.Child("waypoint"), ns.Waypoint, "a waypoint is for an ambient namespace only (injection: ambient)")}
		}
		return nil
	}
	var errs field.ErrorList
	if env.app.API != GatewayAPI {
		errs = append(errs, field.Invalid(path.Child("injection"), ns.Injection,
			"ambient mode needs api: gateway: under ambient, Istio's VirtualService is alpha and mixing it with HTTPRoute is undefined"))
	}
	if ns.ScopeSidecars {
		errs = append(errs, field.Invalid(path.Child("scopeSidecars"), true, "ambient mode ignores Sidecar resources: its pods have no sidecar to scope"))
	}
	if ns.Waypoint != "" {
		for _, msg := range validation.IsDNS1035Label(ns.Waypoint) {
			errs = append(errs, field.Invalid(path.Child("waypoint"), ns.Waypoint, msg+" (the name of the waypoint's Service)"))
		}
	}
	return errs
}

// ambientModelErrors checks model i, whose serving model with the App's
// defaults is sm, in an ambient namespace: its pods run without a sidecar,
// and its Services must not take the waypoint's Service's name.
func (env *appEnv) ambientModelErrors(i int, sm *serving.Model) field.ErrorList {
	if !env.ambient() {
		return nil
	}
	var errs field.ErrorList
	if sm.Sidecar != serving.SidecarAmbient {
		errs = append(errs, field.Invalid(modelPath(i).Child("sidecar"), sm.Sidecar, "the pods of an ambient namespace run without a sidecar: leave it unset"))
	}
	wp := env.app.Namespace.waypoint()
	if sm.Name == wp {
		errs = append(errs, field.Invalid(modelPath(i).Child("name"), sm.Name, fmt.Sprintf("the name of the namespace's waypoint, whose Service Istio makes (namespace.waypoint %q)", wp)))
	}
	for k, v := range sm.Versions {
		if names.Deployment(sm.Name, v.Name) == wp {
			errs = append(errs, field.Invalid(modelPath(i).Child("versions").Index(k).Child("name"), v.Name, fmt.Sprintf("%s is the name of the namespace's waypoint, whose Service Istio makes", wp)))
		}
	}
	if m := env.app.Models[i]; m.Access != nil && len(sm.Versions)+1 > maxPolicyTargets {
		errs = append(errs, field.TooMany(modelPath(i).Child("versions"), len(sm.Versions), maxPolicyTargets-1))
	}
	return errs
}

// policyTargets sets where a policy of model i applies: its pods, or in
// an ambient namespace its Services (the model's and its versions'), whose
// waypoint applies it.
func (env *appEnv) policyTargets(i int) (selector map[string]string, services []string) {
	m := env.app.Models[i]
	if !env.ambient() {
		return map[string]string{labels.App: m.Name}, nil
	}
	services = append(services, m.Name)
	for _, v := range m.Versions {
		services = append(services, names.Deployment(m.Name, v.Name))
	}
	return nil, services
}

// useWaypoint labels a model's Service, in an ambient namespace, with the
// namespace's waypoint, for mesh clients and for gateways alike: the
// waypoint applies the routes and policies of the Service.
func (env *appEnv) useWaypoint(o render.Object) render.Object {
	if !env.ambient() {
		return o
	}
	o.SetLabels(labels.Merge(o.GetLabels(), map[string]string{
		labels.UseWaypoint:        env.app.Namespace.waypoint(),
		labels.IngressUseWaypoint: "true",
	}))
	return o
}

// waypointObject is the namespace's waypoint.
func (env *appEnv) waypointObject() (render.Object, error) {
	return ingress.Waypoint(ingress.WaypointSpec{Name: env.app.Namespace.waypoint(), Namespace: env.ns})
}

// waypointAllow lets the waypoint's pods (service account of its name)
// reach every workload of the namespace.
func (env *appEnv) waypointAllow() security.Policy {
	return security.Policy{Name: names.WaypointAllow, Namespace: env.ns, Rules: []security.Rule{{
		From: []security.Caller{{ServiceAccount: env.app.Namespace.waypoint()}},
	}}}
}
