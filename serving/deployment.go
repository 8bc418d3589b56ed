package serving

import (
	"maps"
	"slices"
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/mlmesh/mlmesh/names"
)

// refill returns a map holding the n entries fill writes (n distinct
// keys), and no others: a new map, or prev, an earlier build's map whose
// storage it reuses. An earlier build wrote the same keys nearly always,
// so fill writes over them, and only when entries of it are left over is
// the map cleared and filled again (clearing first would cost more: clear
// reseeds the map's hash).
func refill[M ~map[K]V, K comparable, V any](prev M, n int, fill func(M)) M {
	if prev == nil {
		prev = make(M, n)
		fill(prev)
		return prev
	}
	fill(prev)
	if len(prev) != n {
		clear(prev)
		fill(prev)
	}
	return prev
}

// reuse returns p, or a new T when p is nil.
func reuse[T any](p *T) *T {
	if p == nil {
		return new(T)
	}
	return p
}

// deploymentInto builds into d, which is zero or holds an earlier build
// whose storage it reuses. Every path leaves d as a fresh build would:
// TestDeploymentIntoEqualsFresh holds it to that.
func deploymentInto(d *appsv1.Deployment, m *Model, v Version) {
	prevLabels, prevPodLabels := d.Labels, d.Spec.Template.Labels
	prevSelector, prevReplicas := d.Spec.Selector, d.Spec.Replicas
	prevPodSecurity := d.Spec.Template.Spec.SecurityContext
	prevContainers := d.Spec.Template.Spec.Containers
	prevNodeSelector, prevTolerations := d.Spec.Template.Spec.NodeSelector, d.Spec.Template.Spec.Tolerations
	prevAnnotations := d.Spec.Template.Annotations
	var prevContainer corev1.Container
	if len(prevContainers) > 0 {
		prevContainer = prevContainers[0]
	}
	prevStartup := prevContainer.StartupProbe
	var prevMatch map[string]string
	if prevSelector != nil {
		prevMatch = prevSelector.MatchLabels
	}
	*d = appsv1.Deployment{}

	rt := m.runtime()
	name := names.Deployment(m.Name, v.Name)
	versionLabels := refill(prevLabels, distinctLabels(m, versionKeys...), func(l map[string]string) {
		versionLabelsInto(l, m, v.Name, name)
	})
	var pl map[string]string
	if prevPodLabels == nil {
		pl = podLabels(m, maps.Clone(versionLabels)) // a copy of a small map, cheaper than inserts
	} else {
		pl = refill(prevPodLabels, distinctLabels(m, podKeys(m)...), func(l map[string]string) {
			podLabels(m, versionLabelsInto(l, m, v.Name, name))
		})
	}
	if !v.Autoscaled && v.Autoscaling == nil {
		r := reuse(prevReplicas)
		*r = 1
		if v.Replicas != nil {
			*r = *v.Replicas
		}
		d.Spec.Replicas = r
	}
	selector := reuse(prevSelector)
	*selector = metav1.LabelSelector{MatchLabels: refill(prevMatch, 2, func(l map[string]string) { selectorLabelsInto(l, m.Name, v.Name) })}

	d.TypeMeta = metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"}
	d.ObjectMeta = metav1.ObjectMeta{Name: name, Namespace: m.namespace(), Labels: versionLabels}
	d.Spec.Selector = selector
	d.Spec.Template.ObjectMeta = metav1.ObjectMeta{Labels: pl}
	ps := &d.Spec.Template.Spec
	ps.ServiceAccountName = m.ServiceAccountName
	ps.SecurityContext = podSecurityInto(prevPodSecurity, rt, v)
	ps.Containers = append(prevContainers[:0], corev1.Container{})
	containerInto(&ps.Containers[0], &prevContainer, m, rt, v)
	if v.NodeSelector != nil {
		ps.NodeSelector = refill(prevNodeSelector, len(v.NodeSelector), func(l map[string]string) { maps.Copy(l, v.NodeSelector) })
	}
	if v.Tolerations != nil {
		ps.Tolerations = reuseSlice(prevTolerations, len(v.Tolerations))
		for i := range v.Tolerations {
			ps.Tolerations = append(ps.Tolerations, corev1.Toleration{})
			v.Tolerations[i].DeepCopyInto(&ps.Tolerations[i])
		}
	} else if v.GPUs > 0 {
		ps.Tolerations = []corev1.Toleration{{Key: string(GPUResource), Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}}
	}
	podSettings(d, m, rt, v, prevStartup, prevAnnotations)
}

// podSettings adds what a model server needs beyond its container's
// basics: its volumes, a startup probe sized for model loading, a grace
// period for in-flight requests, and the Istio proxy's start and drain.
// It builds into the storage of the previous build's probe and
// annotations, when given.
func podSettings(d *appsv1.Deployment, m *Model, rt *Runtime, v Version, prevStartup *corev1.Probe, prevAnnotations map[string]string) {
	ps := &d.Spec.Template.Spec
	c := &ps.Containers[0]
	ps.Volumes, c.VolumeMounts = v.volumes(rt)
	if v.Cache != nil && rt.CacheEnv != "" && !slices.ContainsFunc(v.Env, func(e corev1.EnvVar) bool { return e.Name == rt.CacheEnv }) {
		c.Env = append(c.Env, corev1.EnvVar{Name: rt.CacheEnv, Value: v.Cache.mountPath()})
	}
	if timeout := v.startupTimeout(rt); timeout > 0 && c.ReadinessProbe != nil {
		c.StartupProbe = startupProbe(prevStartup, c.ReadinessProbe, timeout)
	}
	grace := v.shutdownGrace(rt)
	if grace > 0 {
		secs := int64(grace / time.Second)
		ps.TerminationGracePeriodSeconds = &secs
	}
	if m.Sidecar == SidecarSkip || m.Sidecar == SidecarAmbient {
		return
	}
	if cfg := proxyConfig(v.downloads(rt), grace); cfg != "" {
		d.Spec.Template.Annotations = refill(prevAnnotations, 1, func(a map[string]string) { a[ProxyConfigAnnotation] = cfg })
	}
}

// startupProbe asks the readiness probe's endpoint every 10 seconds, for
// up to timeout, into the storage of prev.
func startupProbe(prev, readiness *corev1.Probe, timeout time.Duration) *corev1.Probe {
	const period = 10 * time.Second
	sp := reuse(prev)
	var prevHTTP *corev1.HTTPGetAction
	var prevTCP *corev1.TCPSocketAction
	if prev != nil {
		prevHTTP, prevTCP = sp.HTTPGet, sp.TCPSocket
	}
	*sp = corev1.Probe{PeriodSeconds: int32(period / time.Second), FailureThreshold: int32((timeout + period - 1) / period)}
	switch {
	case readiness.HTTPGet != nil:
		sp.HTTPGet = reuse(prevHTTP)
		*sp.HTTPGet = *readiness.HTTPGet // its fields are values: Path and Port
	case readiness.TCPSocket != nil:
		sp.TCPSocket = reuse(prevTCP)
		*sp.TCPSocket = *readiness.TCPSocket
	}
	return sp
}

// holdOnly is the proxy configuration of most pods that fetch their model:
// a constant, not built for each.
const holdOnly = `{"holdApplicationUntilProxyStarts":true}`

// proxyConfig is the pods' proxy configuration (Istio's ProxyConfig, as the
// injector reads it from ProxyConfigAnnotation), keys in a fixed order, or
// "" for none. A model fetched at start, through the proxy, must not start
// before it; the proxy drains as long as the pod's grace period.
func proxyConfig(hold bool, grace time.Duration) string {
	switch {
	case grace <= 0 && hold:
		return holdOnly
	case grace <= 0:
		return ""
	}
	drain := `"terminationDrainDuration":"` + strconv.FormatInt(int64(grace/time.Second), 10) + `s"}`
	if hold {
		return holdOnly[:len(holdOnly)-1] + "," + drain
	}
	return "{" + drain
}

// ProxyConfigAnnotation is the pod annotation Istio's injector reads the
// proxy's configuration from.
const ProxyConfigAnnotation = "proxy.istio.io/config"

// containerInto builds the model container into the zero c, reusing the
// storage of prev.
func containerInto(c, prev *corev1.Container, m *Model, rt *Runtime, v Version) {
	c.Name = "model"
	c.Image = v.Image
	if c.Image == "" {
		c.Image = rt.Image
	}
	if rt.Command != nil {
		c.Command = append(reuseSlice(prev.Command, len(rt.Command)), rt.Command...)
	}
	if rt.Args != nil {
		c.Args = rt.Args(m.Served(), v.modelURI())
	}
	if rt.LoRA != nil {
		c.Args = append(c.Args, rt.LoRA(m.AdaptersOf(v.Name))...)
	}
	c.Args = append(c.Args, v.Args...)
	c.Env = env(rt, m.Served(), v)
	c.ImagePullPolicy = v.ImagePullPolicy
	c.Resources = resourcesInto(prev.Resources, v)
	c.SecurityContext = containerSecurityInto(prev.SecurityContext, v)
	if len(rt.Ports) > 0 {
		c.Ports = reuseSlice(prev.Ports, len(rt.Ports))
		for _, p := range rt.Ports {
			c.Ports = append(c.Ports, corev1.ContainerPort{Name: p.ServiceName(), ContainerPort: p.Number, Protocol: corev1.ProtocolTCP})
		}
	}
	if pp, ok := rt.probePort(); ok {
		probe := reuse(prev.ReadinessProbe)
		var prevHTTP *corev1.HTTPGetAction
		var prevTCP *corev1.TCPSocketAction
		if prev.ReadinessProbe != nil {
			prevHTTP, prevTCP = probe.HTTPGet, probe.TCPSocket
		}
		*probe = corev1.Probe{}
		if rt.ReadinessPath != nil {
			h := reuse(prevHTTP)
			*h = corev1.HTTPGetAction{Path: rt.ReadinessPath(m.Served()), Port: intstr.FromString(pp.ServiceName())}
			probe.HTTPGet = h
		} else {
			t := reuse(prevTCP)
			*t = corev1.TCPSocketAction{Port: intstr.FromString(pp.ServiceName())}
			probe.TCPSocket = t
		}
		c.ReadinessProbe = probe
	}
}

// reuseSlice returns s emptied, or a new slice with room for n.
func reuseSlice[T any](s []T, n int) []T {
	if s == nil {
		return make([]T, 0, n)
	}
	return s[:0]
}

func env(rt *Runtime, model string, v Version) []corev1.EnvVar {
	var out []corev1.EnvVar
	if rt.Env != nil {
		var given map[string]bool
		if len(v.Env) > 0 {
			given = make(map[string]bool, len(v.Env))
			for _, e := range v.Env {
				given[e.Name] = true
			}
		}
		re := rt.Env(model, v.modelURI())
		for _, k := range sortedKeys(re) {
			if !given[k] {
				out = append(out, corev1.EnvVar{Name: k, Value: re[k]})
			}
		}
	}
	for _, e := range v.Env {
		if e.ValueFrom != nil {
			e.ValueFrom = e.ValueFrom.DeepCopy()
		}
		out = append(out, e)
	}
	return out
}

// resourcesInto copies the version's resources, as DeepCopy does, into the
// lists of prev, and adds its GPUs.
func resourcesInto(prev corev1.ResourceRequirements, v Version) corev1.ResourceRequirements {
	r := corev1.ResourceRequirements{
		Limits:   copyResources(prev.Limits, v.Resources.Limits),
		Requests: copyResources(prev.Requests, v.Resources.Requests),
	}
	if v.Resources.Claims != nil {
		r.Claims = append(reuseSlice(prev.Claims, len(v.Resources.Claims)), v.Resources.Claims...)
	}
	if v.GPUs > 0 {
		q := *resource.NewQuantity(v.GPUs, resource.DecimalSI)
		if r.Limits == nil {
			r.Limits = refill(prev.Limits, 1, func(l corev1.ResourceList) { l[GPUResource] = q })
		} else {
			r.Limits[GPUResource] = q
		}
		if r.Requests != nil {
			r.Requests[GPUResource] = q
		}
	}
	return r
}

func copyResources(dst, src corev1.ResourceList) corev1.ResourceList {
	if src == nil {
		return nil
	}
	return refill(dst, len(src), func(dst corev1.ResourceList) {
		for k, q := range src {
			dst[k] = q.DeepCopy()
		}
	})
}

func podSecurityInto(prev *corev1.PodSecurityContext, rt *Runtime, v Version) *corev1.PodSecurityContext {
	if v.PodSecurityContext != nil {
		return v.PodSecurityContext.DeepCopy()
	}
	user := rt.RunAsUser
	if user == 0 {
		user = defaultUser
	}
	sc := reuse(prev)
	var nonRoot *bool
	var runAs *int64
	var seccomp *corev1.SeccompProfile
	if prev != nil {
		nonRoot, runAs, seccomp = sc.RunAsNonRoot, sc.RunAsUser, sc.SeccompProfile
	}
	*sc = corev1.PodSecurityContext{RunAsNonRoot: reuse(nonRoot), RunAsUser: reuse(runAs), SeccompProfile: reuse(seccomp)}
	*sc.RunAsNonRoot = true
	*sc.RunAsUser = user
	*sc.SeccompProfile = corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}
	return sc
}

func containerSecurityInto(prev *corev1.SecurityContext, v Version) *corev1.SecurityContext {
	if v.SecurityContext != nil {
		return v.SecurityContext.DeepCopy()
	}
	sc := reuse(prev)
	var noEscalation *bool
	var caps *corev1.Capabilities
	if prev != nil {
		noEscalation, caps = sc.AllowPrivilegeEscalation, sc.Capabilities
	}
	var drop []corev1.Capability
	if caps != nil {
		drop = caps.Drop
	}
	caps = reuse(caps)
	*caps = corev1.Capabilities{Drop: append(reuseSlice(drop, 1), "ALL")}
	*sc = corev1.SecurityContext{AllowPrivilegeEscalation: reuse(noEscalation), Capabilities: caps}
	*sc.AllowPrivilegeEscalation = false
	if v.ReadOnlyRoot {
		ro := true
		sc.ReadOnlyRootFilesystem = &ro
	}
	return sc
}
