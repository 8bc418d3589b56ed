package serving

import (
	"unsafe"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"

	"github.com/mlmesh/mlmesh/internal/fielderr"
	"github.com/mlmesh/mlmesh/internal/fieldpath"
)

// Checked is a Model that passed validation: its objects are built from it
// without validating it again, and a Deployment may be built into the
// storage of an earlier one. A composer that validates once and builds
// many objects (package mesh) uses it; the builders of this package
// (Deployments, Service, …) are Check followed by one of its methods.
//
// It keeps the pointer given to Check and does not copy the Model: the
// Model must not change while its Checked value is in use. The zero value
// holds no Model (see Model) and must not be built from.
type Checked struct{ m *Model }

// Check validates the Model m points to, reporting every problem at once as
// a *ValidationError, and returns it checked.
func Check(m *Model) (Checked, error) {
	if err := m.Validate(); err != nil {
		return Checked{}, err
	}
	return Checked{m}, nil
}

// Checker checks Models as Check does, and checks once the runtime and the
// resource lists that many of them share: a fleet's models are written
// with one Runtime and one ResourceList of requests. It remembers the last
// runtime it found valid by what its checks read (its name, the ports
// slice, the readiness port, the user), and the last resources by their
// maps; a Model that has them again has the rest of it checked.
//
// What it remembers must not change while it is in use, as a Checked
// Model must not. The zero Checker is ready to use, by one goroutine at a
// time.
type Checker struct {
	runtime          runtimeKey // the last runtime found valid; ports nil: none
	limits, requests unsafe.Pointer
}

// runtimeKey is what Runtime.validate reads of a runtime.
type runtimeKey struct {
	name, readinessPort string
	ports               *Port
	nPorts              int
	runAsUser           int64
}

// Check validates the Model m points to as Check does, skipping the
// runtime and the resources the Checker found valid already, and returns
// it checked.
func (c *Checker) Check(m *Model) (Checked, error) {
	if err := fielderr.New("serving.Model", m.validate(fieldpath.Path{}, c)); err != nil {
		return Checked{}, err
	}
	return Checked{m}, nil
}

// keyOf is rt's runtimeKey.
func keyOf(rt *Runtime) runtimeKey {
	k := runtimeKey{name: rt.Name, readinessPort: rt.ReadinessPort, nPorts: len(rt.Ports), runAsUser: rt.RunAsUser}
	if len(rt.Ports) > 0 {
		k.ports = &rt.Ports[0]
	}
	return k
}

// validRuntime reports whether c remembers rt as valid. A nil Checker
// remembers nothing.
func (c *Checker) validRuntime(rt *Runtime) bool {
	return c != nil && c.runtime.ports != nil && c.runtime == keyOf(rt)
}

// rememberRuntime remembers rt, found valid.
func (c *Checker) rememberRuntime(rt *Runtime) {
	if c != nil && len(rt.Ports) > 0 {
		c.runtime = keyOf(rt)
	}
}

// mapID is where the map m is, nil for a nil map.
func mapID(m corev1.ResourceList) unsafe.Pointer { return *(*unsafe.Pointer)(unsafe.Pointer(&m)) }

// validResources reports whether c remembers r's lists as valid.
func (c *Checker) validResources(r *corev1.ResourceRequirements) bool {
	return c != nil && (c.limits != nil || c.requests != nil) && c.limits == mapID(r.Limits) && c.requests == mapID(r.Requests)
}

// rememberResources remembers r's lists, found valid.
func (c *Checker) rememberResources(r *corev1.ResourceRequirements) {
	if c != nil {
		c.limits, c.requests = mapID(r.Limits), mapID(r.Requests)
	}
}

// Model is the Model that was checked, nil for the zero value.
func (c Checked) Model() *Model { return c.m }

// Service is the Model's Service, as Service builds it, into reuse: nil
// builds a new Service; the result of an earlier call has its storage
// reused (maps, ports), and must no longer be in use elsewhere.
func (c Checked) Service(reuse *corev1.Service) *corev1.Service {
	if reuse == nil {
		return service(*c.m)
	}
	serviceInto(reuse, c.m)
	return reuse
}

// VersionService is the i-th version's own Service, as VersionServices
// builds it.
func (c Checked) VersionService(i int) *corev1.Service { return versionService(*c.m, i) }

// Deployment builds the Deployment of the i-th version, as Deployments
// does, into reuse: nil builds a new Deployment; the result of an earlier
// call has its storage reused (maps, slices and pointers it holds), and
// must no longer be in use elsewhere.
func (c Checked) Deployment(i int, reuse *appsv1.Deployment) *appsv1.Deployment {
	if reuse == nil {
		reuse = new(appsv1.Deployment)
	}
	deploymentInto(reuse, c.m, c.m.Versions[i])
	return reuse
}

// HasAutoscaler reports whether the i-th version has a
// HorizontalPodAutoscaler (Version.Autoscaling).
func (c Checked) HasAutoscaler(i int) bool { return c.m.Versions[i].Autoscaling != nil }

// Autoscaler is the i-th version's HorizontalPodAutoscaler, nil when it
// has none.
func (c Checked) Autoscaler(i int) *autoscalingv2.HorizontalPodAutoscaler {
	if !c.HasAutoscaler(i) {
		return nil
	}
	return horizontalPodAutoscaler(*c.m, c.m.Versions[i])
}

// HasDisruptionBudget reports whether the i-th version has a
// PodDisruptionBudget (Version.Disruption, or its default).
func (c Checked) HasDisruptionBudget(i int) bool { return c.m.Versions[i].budget() != nil }

// DisruptionBudget is the i-th version's PodDisruptionBudget, nil when it
// has none.
func (c Checked) DisruptionBudget(i int) *policyv1.PodDisruptionBudget {
	v := c.m.Versions[i]
	d := v.budget()
	if d == nil {
		return nil
	}
	return podDisruptionBudget(*c.m, v, d)
}

// PodLabel is the value of one label of a version's pods, as PodLabels
// holds it, without building the map.
func (c Checked) PodLabel(version, key string) (string, bool) { return podLabel(c.m, version, key) }

// NumPorts is how many ports the Model's runtime has.
func (c Checked) NumPorts() int { return len(c.m.runtime().Ports) }

// Port is the i-th port of the Model's runtime, with its Protocol's
// default applied; ports are read one at a time, so that no slice is made
// per model.
func (c Checked) Port(i int) Port {
	p := c.m.runtime().Ports[i]
	p.Protocol = p.protocol()
	return p
}

// Paths are the path prefixes of the Model's runtime (Runtime.Paths): the
// runtime's own slice, shared by every model of the default runtime, to
// read and not to modify.
func (c Checked) Paths() []string { return c.m.runtime().Paths }
