package mesh

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/mlmesh/mlmesh/internal/check"
	"github.com/mlmesh/mlmesh/internal/fieldpath"
	"github.com/mlmesh/mlmesh/internal/labels"
	"github.com/mlmesh/mlmesh/render"
	"github.com/mlmesh/mlmesh/security"
)

// The namespace family: the App's Namespace (unless it exists already) and
// its PeerAuthentication (when an mTLS mode is set), from App.Namespace.

// namespaceFamily builds the App's Namespace, its PeerAuthentication and,
// in ambient mode, its waypoint.
type namespaceFamily struct{ env *appEnv }

func deriveNamespace(env *appEnv) (*namespaceFamily, field.ErrorList) {
	var errs field.ErrorList
	ns := env.app.Namespace
	path := field.NewPath("namespace")
	errs = append(errs, check.Name(fieldpath.At(path).Child("name"), ns.Name)...)
	switch ns.Injection {
	case InjectNamespace, InjectPods, InjectNone, InjectAmbient:
	default:
		errs = append(errs, field.NotSupported(path.Child("injection"), ns.Injection, []Injection{InjectNamespace, InjectPods, InjectNone, InjectAmbient}))
	}
	errs = append(errs, ambientErrors(env)...)
	switch ns.MTLS {
	case MTLSUnset, MTLSStrict, MTLSPermissive:
	default:
		errs = append(errs, field.NotSupported(path.Child("mtls"), ns.MTLS, []MTLS{MTLSStrict, MTLSPermissive}))
	}
	errs = append(errs, check.Labels(fieldpath.At(path).Child("labels"), ns.Labels)...)
	errs = append(errs, checkAPI(env.app.API)...)
	for i, sa := range ns.ServiceAccounts {
		for _, msg := range check.DNS1123Subdomain(sa) {
			errs = append(errs, field.Invalid(path.Child("serviceAccounts").Index(i), sa, msg))
		}
	}
	return &namespaceFamily{env}, errs
}

// Its objects are one of each kind: the kind is the reference.
func (f *namespaceFamily) objects(add adder) {
	env := f.env
	if !env.app.Namespace.Existing {
		add(kindNamespace, "", env.ns, 0)
	}
	if env.app.Namespace.MTLS != MTLSUnset {
		add(kindPeerAuthentication, env.ns, "default", 0)
	}
	if env.ambient() {
		add(kindWaypoint, env.ns, env.app.Namespace.waypoint(), 0)
	}
}

func (f *namespaceFamily) build(k kind, _ int32) (render.Object, error) {
	ns := f.env.app.Namespace
	switch k {
	case kindNamespace:
		return namespaceObject(ns), nil
	case kindWaypoint:
		return f.env.waypointObject()
	}
	return security.PeerAuthentication(security.Peer{Name: "default", Namespace: ns.Name, Mode: security.MTLS(ns.MTLS)})
}

func (*namespaceFamily) from(k kind, _ int32) *field.Path {
	switch k {
	case kindNamespace:
		return field.NewPath("namespace")
	case kindWaypoint:
		return field.NewPath("namespace", "injection")
	}
	return field.NewPath("namespace", "mtls")
}

func namespaceObject(ns Namespace) *corev1.Namespace {
	l := labels.Merge(ns.Labels, map[string]string{labels.ManagedBy: labels.Manager})
	switch ns.Injection {
	case InjectNamespace:
		l[labels.IstioInjection] = "enabled"
	case InjectAmbient:
		l[labels.DataplaneMode] = "ambient"
	}
	return &corev1.Namespace{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
		ObjectMeta: metav1.ObjectMeta{Name: ns.Name, Labels: l},
	}
}
