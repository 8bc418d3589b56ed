package security

import (
	securityapi "istio.io/api/security/v1beta1"
	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/mlmesh/mlmesh/internal/fielderr"
	"github.com/mlmesh/mlmesh/internal/fieldpath"
)

// MTLS is a peer authentication mode.
type MTLS string

const (
	// MTLSStrict accepts only mutual TLS from other workloads.
	MTLSStrict MTLS = "STRICT"
	// MTLSPermissive accepts mutual TLS and plain text, for migrations.
	MTLSPermissive MTLS = "PERMISSIVE"
)

// Peer is a PeerAuthentication: whether the pods it selects accept plain
// text from other workloads.
type Peer struct {
	// Name names it; the namespace-wide one is "default". Required.
	Name string
	// Namespace is where it goes; empty means "default".
	Namespace string
	// Selector picks the pods; empty means the whole namespace.
	Selector map[string]string
	// Mode is MTLSStrict or MTLSPermissive. Required.
	Mode MTLS
	// Labels are put on the object.
	Labels map[string]string
}

// Validate reports every problem in p at once, as a *ValidationError, or nil.
func (p Peer) Validate() error {
	errs := checkMeta(p.Name, p.Namespace, p.Selector, p.Labels)
	switch p.Mode {
	case MTLSStrict, MTLSPermissive:
	default:
		errs = append(errs, field.NotSupported(fieldpath.New("mode").Field(), p.Mode, []MTLS{MTLSStrict, MTLSPermissive}))
	}
	return fielderr.New("security.Peer", errs)
}

// PeerAuthentication validates p and returns its PeerAuthentication.
func PeerAuthentication(p Peer) (*securityv1.PeerAuthentication, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return p.peerAuthentication(), nil
}

func (p *Peer) peerAuthentication() *securityv1.PeerAuthentication {
	pa := &securityv1.PeerAuthentication{
		TypeMeta:   metav1.TypeMeta{APIVersion: "security.istio.io/v1", Kind: "PeerAuthentication"},
		ObjectMeta: meta(p.Name, p.Namespace, p.Labels),
	}
	pa.Spec.Selector = selector(p.Selector)
	mode := securityapi.PeerAuthentication_MutualTLS_STRICT
	if p.Mode == MTLSPermissive {
		mode = securityapi.PeerAuthentication_MutualTLS_PERMISSIVE
	}
	pa.Spec.Mtls = &securityapi.PeerAuthentication_MutualTLS{Mode: mode}
	return pa
}
