package serving

import (
	"maps"
	"slices"
	"sort"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/mlmesh/mlmesh/internal/labels"
)

// GPUResource is the extended resource GPUs are requested as.
const GPUResource corev1.ResourceName = "nvidia.com/gpu"

// defaultUser is the user id model servers run as under the secure defaults.
const defaultUser int64 = 1000

// Deployments validates m and returns one Deployment per version, in the
// order of m.Versions. Nothing is returned if m is invalid.
func Deployments(m Model) ([]*appsv1.Deployment, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	out := make([]*appsv1.Deployment, len(m.Versions))
	for i, v := range m.Versions {
		out[i] = deployment(m, v)
	}
	return out, nil
}

// Service validates m and returns the Service that fronts every version of
// it: named after the model, selecting app=<model>, one port per runtime
// port, each named for Istio's protocol selection and with appProtocol set.
func Service(m Model) (*corev1.Service, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return service(m), nil
}

// ModelLabels returns the labels every object of the model carries.
func ModelLabels(m Model) map[string]string {
	// Room for the version labels added by VersionLabels and PodLabels, so
	// the map is not grown (and rehashed) on the way.
	l := make(map[string]string, len(m.Labels)+8)
	for k, v := range m.Labels {
		l[k] = v
	}
	l[labels.App] = m.Name
	l[labels.Name] = m.Name
	l[labels.Component] = m.runtime().Name
	l[labels.ManagedBy] = labels.Manager
	return l
}

// VersionLabels returns the labels of a version's Deployment and pods.
func VersionLabels(m Model, version string) map[string]string {
	return versionLabels(m, version, DeploymentName(m.Name, version))
}

func versionLabels(m Model, version, deployment string) map[string]string {
	l := ModelLabels(m)
	l[labels.Version] = version
	l[labels.VersionK8s] = version
	l[labels.Instance] = deployment
	return l
}

// PodLabels returns the labels of a version's pods: its VersionLabels and,
// when the model asks for it, sidecar.istio.io/inject.
func PodLabels(m Model, version string) map[string]string {
	return podLabels(m, VersionLabels(m, version))
}

// podLabels adds the pod-only labels to a version's labels.
func podLabels(m Model, versionLabels map[string]string) map[string]string {
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

// PodLabel returns the value of one label of a version's pods, as
// PodLabels would hold it, without building the map.
func PodLabel(m Model, version, key string) (string, bool) {
	switch key {
	case labels.SidecarInject:
		if v, ok := m.sidecarLabel(); ok {
			return v, true
		}
	case labels.Version, labels.VersionK8s:
		return version, true
	case labels.Instance:
		return DeploymentName(m.Name, version), true
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
	return map[string]string{labels.App: model, labels.Version: version}
}

func deployment(m Model, v Version) *appsv1.Deployment {
	rt := m.runtime()
	name := DeploymentName(m.Name, v.Name)
	versionLabels := versionLabels(m, v.Name, name)
	podLabels := podLabels(m, maps.Clone(versionLabels))
	var replicas *int32
	if !v.Autoscaled {
		r := int32(1)
		if v.Replicas != nil {
			r = *v.Replicas
		}
		replicas = &r
	}
	d := &appsv1.Deployment{
		TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{
			Name:      name,
			Namespace: m.namespace(),
			Labels:    versionLabels,
		},
		Spec: appsv1.DeploymentSpec{
			Replicas: replicas,
			Selector: &metav1.LabelSelector{MatchLabels: SelectorLabels(m.Name, v.Name)},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: podLabels},
				Spec: corev1.PodSpec{
					ServiceAccountName: m.ServiceAccountName,
					SecurityContext:    podSecurity(rt, v),
					Containers:         []corev1.Container{container(m, rt, v)},
					NodeSelector:       v.NodeSelector,
					Tolerations:        v.Tolerations,
				},
			},
		},
	}
	return d
}

func container(m Model, rt Runtime, v Version) corev1.Container {
	image := v.Image
	if image == "" {
		image = rt.Image
	}
	var args []string
	if rt.Args != nil {
		args = rt.Args(m.Name, v.ModelURI)
	}
	args = append(args, v.Args...)
	c := corev1.Container{
		Name:            "model",
		Image:           image,
		Command:         slices.Clone(rt.Command),
		Args:            args,
		Env:             env(rt, m.Name, v),
		ImagePullPolicy: v.ImagePullPolicy,
		Resources:       resources(v),
		SecurityContext: containerSecurity(v),
	}
	for _, p := range rt.Ports {
		c.Ports = append(c.Ports, corev1.ContainerPort{Name: p.ServiceName(), ContainerPort: p.Number, Protocol: corev1.ProtocolTCP})
	}
	if pp, ok := rt.probePort(); ok {
		probe := &corev1.Probe{}
		if rt.ReadinessPath != nil {
			probe.HTTPGet = &corev1.HTTPGetAction{Path: rt.ReadinessPath(m.Name), Port: intstr.FromString(pp.ServiceName())}
		} else {
			probe.TCPSocket = &corev1.TCPSocketAction{Port: intstr.FromString(pp.ServiceName())}
		}
		c.ReadinessProbe = probe
	}
	return c
}

func env(rt Runtime, model string, v Version) []corev1.EnvVar {
	var out []corev1.EnvVar
	given := map[string]bool{}
	for _, e := range v.Env {
		given[e.Name] = true
	}
	if rt.Env != nil {
		re := rt.Env(model, v.ModelURI)
		keys := sortedKeys(re)
		for _, k := range keys {
			if !given[k] {
				out = append(out, corev1.EnvVar{Name: k, Value: re[k]})
			}
		}
	}
	return append(out, v.Env...)
}

func resources(v Version) corev1.ResourceRequirements {
	r := *v.Resources.DeepCopy()
	if v.GPUs > 0 {
		q := *resource.NewQuantity(v.GPUs, resource.DecimalSI)
		if r.Limits == nil {
			r.Limits = corev1.ResourceList{}
		}
		r.Limits[GPUResource] = q
		if r.Requests != nil {
			r.Requests[GPUResource] = q
		}
	}
	return r
}

func podSecurity(rt Runtime, v Version) *corev1.PodSecurityContext {
	if v.PodSecurityContext != nil {
		return v.PodSecurityContext.DeepCopy()
	}
	user := rt.RunAsUser
	if user == 0 {
		user = defaultUser
	}
	yes := true
	return &corev1.PodSecurityContext{
		RunAsNonRoot:   &yes,
		RunAsUser:      &user,
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
}

func containerSecurity(v Version) *corev1.SecurityContext {
	if v.SecurityContext != nil {
		return v.SecurityContext.DeepCopy()
	}
	no := false
	return &corev1.SecurityContext{
		AllowPrivilegeEscalation: &no,
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
	}
}

func service(m Model) *corev1.Service {
	rt := m.runtime()
	s := &corev1.Service{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: metav1.ObjectMeta{
			Name:      m.Name,
			Namespace: m.namespace(),
			Labels:    ModelLabels(m),
		},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{labels.App: m.Name},
		},
	}
	for _, p := range rt.Ports {
		ap := string(p.protocol())
		s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{
			Name:        p.ServiceName(),
			Port:        p.Number,
			TargetPort:  intstr.FromString(p.ServiceName()),
			Protocol:    corev1.ProtocolTCP,
			AppProtocol: &ap,
		})
	}
	return s
}

// ServicePort returns the Service port number the model serves protocol on
// (the first such port), and whether it has one.
func ServicePort(m Model, protocol Protocol) (int32, bool) {
	for _, p := range m.runtime().Ports {
		if p.protocol() == protocol {
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

// Checked is a Model that passed validation, for building its objects
// without validating again: validate once, build many (a controller's
// reconcile loop, mlmesh's mesh package). It holds the Model as it was when
// checked, sharing its slices and maps, so changing those afterwards skips
// validation.
type Checked struct {
	m Model
}

// Check validates m and returns it as a Checked.
func (m Model) Check() (Checked, error) {
	if err := m.Validate(); err != nil {
		return Checked{}, err
	}
	return Checked{m: m}, nil
}

// Model returns the checked Model.
func (c Checked) Model() Model { return c.m }

// Deployments returns one Deployment per version, as Deployments does.
func (c Checked) Deployments() []*appsv1.Deployment {
	out := make([]*appsv1.Deployment, len(c.m.Versions))
	for i, v := range c.m.Versions {
		out[i] = deployment(c.m, v)
	}
	return out
}

// DeploymentOf returns the Deployment of the i-th version.
func (c Checked) DeploymentOf(i int) *appsv1.Deployment { return deployment(c.m, c.m.Versions[i]) }

// Service returns the model's Service, as Service does.
func (c Checked) Service() *corev1.Service { return service(c.m) }
