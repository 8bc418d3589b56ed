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

var (
	kindNamespace          = newKind("", "Namespace")
	kindPeerAuthentication = newKind("security.istio.io", "PeerAuthentication")
)

// standInNamespace replaces an invalid App namespace while the other
// families derive.
const standInNamespace = "invalid-namespace"

type namespaceFamily struct {
	valid bool // the name is valid: what other families derive from it
}

func (f *namespaceFamily) derive(p *plan) field.ErrorList {
	var errs field.ErrorList
	ns := p.app.Namespace
	path := field.NewPath("namespace")
	errs = append(errs, check.Name(fieldpath.At(path).Child("name"), ns.Name)...)
	f.valid = len(errs) == 0
	if !f.valid {
		// Reported once, here. The other families derive with a stand-in,
		// so that their specs are checked for their own problems and not
		// again for this one (nothing is built while there is an error).
		p.ns = standInNamespace
	}
	switch ns.Injection {
	case InjectNamespace, InjectPods, InjectNone, InjectAmbient:
	default:
		errs = append(errs, field.NotSupported(path.Child("injection"), ns.Injection, []Injection{InjectNamespace, InjectPods, InjectNone, InjectAmbient}))
	}
	errs = append(errs, ambientErrors(p)...)
	switch ns.MTLS {
	case MTLSUnset, MTLSStrict, MTLSPermissive:
	default:
		errs = append(errs, field.NotSupported(path.Child("mtls"), ns.MTLS, []MTLS{MTLSStrict, MTLSPermissive}))
	}
	errs = append(errs, check.Labels(fieldpath.At(path).Child("labels"), ns.Labels)...)
	errs = append(errs, checkAPI(p.app.API)...)
	for i, sa := range ns.ServiceAccounts {
		for _, msg := range check.DNS1123Subdomain(sa) {
			errs = append(errs, field.Invalid(path.Child("serviceAccounts").Index(i), sa, msg))
		}
	}
	return errs
}

func (*namespaceFamily) check(*plan) field.ErrorList { return nil }

func (*namespaceFamily) objects(p *plan, add adder) {
	if !p.app.Namespace.Existing {
		add(kindNamespace, "", p.ns, 0, 0)
	}
	if p.app.Namespace.MTLS != MTLSUnset {
		add(kindPeerAuthentication, p.ns, "default", 0, 0)
	}
	if p.ambient() {
		add(kindWaypoint, p.ns, p.app.Namespace.waypoint(), 0, 0)
	}
}

func (*namespaceFamily) build(p *plan, it *item) (render.Object, error) {
	switch it.kind {
	case kindNamespace:
		return namespaceObject(p.app.Namespace), nil
	case kindWaypoint:
		return p.waypointObject(), nil
	}
	ns := p.app.Namespace
	return security.PeerAuthentication(security.Peer{Name: "default", Namespace: ns.Name, Mode: security.MTLS(ns.MTLS)})
}

func (*namespaceFamily) from(_ *plan, it *item) *field.Path {
	switch it.kind {
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
