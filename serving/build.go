package serving

import (
	"slices"
	"sort"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/mlmesh/mlmesh/internal/labels"
	"github.com/mlmesh/mlmesh/names"
)

// GPUResource is the extended resource GPUs are requested as.
const GPUResource corev1.ResourceName = "nvidia.com/gpu"

// defaultUser is the user id model servers run as under the secure defaults.
const defaultUser int64 = 1000

// Deployments validates m and returns one Deployment per version, in the
// order of m.Versions. Nothing is returned if m is invalid.
func Deployments(m Model) ([]*appsv1.Deployment, error) {
	c, err := Check(&m)
	if err != nil {
		return nil, err
	}
	out := make([]*appsv1.Deployment, len(m.Versions))
	for i := range m.Versions {
		out[i] = c.Deployment(i, nil)
	}
	return out, nil
}

// Service validates m and returns the Service that fronts every version of
// it: named after the model, selecting app=<model>, one port per runtime
// port, each named for Istio's protocol selection and with appProtocol set.
func Service(m Model) (*corev1.Service, error) {
	c, err := Check(&m)
	if err != nil {
		return nil, err
	}
	return c.Service(nil), nil
}

func modelLabelsInto(l map[string]string, m *Model) map[string]string {
	for k, v := range m.Labels {
		l[k] = v
	}
	l[labels.App] = m.Name
	l[labels.Name] = m.Name
	l[labels.Component] = m.runtime().Name
	l[labels.ManagedBy] = labels.Manager
	return l
}

// modelKeys are the keys of the labels mlmesh puts on a model's objects
// (modelLabelsInto): they win over Model.Labels.
var modelKeys = []string{labels.App, labels.Name, labels.Component, labels.ManagedBy}

// versionKeys are the keys of the labels mlmesh puts on a version's
// objects (versionLabelsInto): they win over Model.Labels.
var versionKeys = append(slices.Clip(modelKeys), labels.Version, labels.VersionK8s, labels.Instance)

// sidecarKeys are versionKeys and the sidecar label.
var sidecarKeys = append(slices.Clip(versionKeys), labels.SidecarInject)

// podKeys are the keys mlmesh puts on a version's pods (podLabels):
// versionKeys and, when the model sets it, the sidecar label.
func podKeys(m *Model) []string {
	if _, ok := m.sidecarLabel(); ok {
		return sidecarKeys
	}
	return versionKeys
}

// distinctLabels is how many labels a map of m's labels holds once keys
// (mlmesh's, which win) are set in it too.
func distinctLabels(m *Model, keys ...string) int {
	n := len(keys)
	for k := range m.Labels {
		if !slices.Contains(keys, k) {
			n++
		}
	}
	return n
}

func versionLabelsInto(l map[string]string, m *Model, version, deployment string) map[string]string {
	modelLabelsInto(l, m)
	l[labels.Version] = version
	l[labels.VersionK8s] = version
	l[labels.Instance] = deployment
	return l
}

// PodLabels returns the labels of a version's pods: those of its Deployment and,
// when the model asks for it, sidecar.istio.io/inject.
func PodLabels(m Model, version string) map[string]string {
	return podLabels(&m, versionLabelsInto(make(map[string]string, len(m.Labels)+8), &m, version, names.Deployment(m.Name, version)))
}

// podLabels adds the pod-only labels to a version's labels.
func podLabels(m *Model, versionLabels map[string]string) map[string]string {
	if v, ok := m.sidecarLabel(); ok {
		versionLabels[labels.SidecarInject] = v
	}
	return versionLabels
}

func (m Model) sidecarLabel() (string, bool) {
	switch m.Sidecar {
	case SidecarInject:
		return "true", true
	case SidecarSkip:
		return "false", true
	}
	return "", false
}

// podLabel returns the value of one label of a version's pods, as
// PodLabels would hold it, without building the map.
func podLabel(m *Model, version, key string) (string, bool) {
	switch key {
	case labels.SidecarInject:
		if v, ok := m.sidecarLabel(); ok {
			return v, true
		}
	case labels.Version, labels.VersionK8s:
		return version, true
	case labels.Instance:
		return names.Deployment(m.Name, version), true
	case labels.App, labels.Name:
		return m.Name, true
	case labels.Component:
		return m.runtime().Name, true
	case labels.ManagedBy:
		return labels.Manager, true
	}
	v, ok := m.Labels[key]
	return v, ok
}

// SelectorLabels returns the labels a version's Deployment selects its pods
// by, and that its DestinationRule subset together with the Service select.
func SelectorLabels(model, version string) map[string]string {
	return selectorLabelsInto(make(map[string]string, 2), model, version)
}

func selectorLabelsInto(l map[string]string, model, version string) map[string]string {
	l[labels.App] = model
	l[labels.Version] = version
	return l
}

func service(m Model) *corev1.Service {
	s := new(corev1.Service)
	serviceInto(s, &m)
	return s
}

// serviceInto builds m's Service into s, which is zero or holds an earlier
// build whose storage (label and selector maps, ports and their
// appProtocols) it reuses. Every path leaves s as a fresh build would:
// TestServiceIntoEqualsFresh holds it to that.
func serviceInto(s *corev1.Service, m *Model) {
	prevLabels, prevSelector, prevPorts := s.Labels, s.Spec.Selector, s.Spec.Ports
	*s = corev1.Service{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: metav1.ObjectMeta{
			Name:      m.Name,
			Namespace: m.namespace(),
			Labels:    refill(prevLabels, distinctLabels(m, modelKeys...), func(l map[string]string) { modelLabelsInto(l, m) }),
		},
	}
	s.Spec.Selector = refill(prevSelector, 1, func(l map[string]string) { l[labels.App] = m.Name })
	rt := m.runtime()
	ports := reuseSlice(prevPorts, len(rt.Ports))
	for i, p := range rt.Ports {
		var ap *string
		if i < len(prevPorts) && prevPorts[i].AppProtocol != nil {
			ap = prevPorts[i].AppProtocol // read before ports[i] is written
		} else {
			ap = new(string)
		}
		*ap = lower(p.protocol())
		ports = append(ports, corev1.ServicePort{
			Name:        p.ServiceName(),
			Port:        p.Number,
			TargetPort:  intstr.FromString(p.ServiceName()),
			Protocol:    corev1.ProtocolTCP,
			AppProtocol: ap,
		})
	}
	if len(ports) > 0 {
		s.Spec.Ports = ports
	}
}

// VersionServices validates m and returns a Service per version, named
// <model>-<version> and selecting that version's pods, with the model
// Service's ports: what Gateway API routes send a version's share to, as
// Istio's routes send to a subset.
func VersionServices(m Model) ([]*corev1.Service, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	out := make([]*corev1.Service, len(m.Versions))
	for i := range m.Versions {
		out[i] = versionService(m, i)
	}
	return out, nil
}

func versionService(m Model, i int) *corev1.Service {
	s := service(m)
	v := m.Versions[i].Name
	s.Name = names.Deployment(m.Name, v)
	s.Labels = versionLabelsInto(s.Labels, &m, v, s.Name)
	s.Spec.Selector = selectorLabelsInto(s.Spec.Selector, m.Name, v)
	return s
}

// ServicePort returns the Service port number the model serves inference
// on with protocol (the first such port that is not Auxiliary), and whether
// it has one.
func ServicePort(m Model, protocol Protocol) (int32, bool) {
	for _, p := range m.runtime().Ports {
		if p.protocol() == protocol && !p.Auxiliary {
			return p.Number, true
		}
	}
	return 0, false
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
