package serving

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	inferencev1 "sigs.k8s.io/gateway-api-inference-extension/api/v1"
	inferencev1alpha2 "sigs.k8s.io/gateway-api-inference-extension/apix/v1alpha2"

	"github.com/mlmesh/mlmesh/internal/fielderr"
	"github.com/mlmesh/mlmesh/internal/fieldpath"
	"github.com/mlmesh/mlmesh/names"
)

// An InferencePool (Gateway API Inference Extension, GA as
// inference.networking.k8s.io/v1) is a version's pods as one backend of
// Gateway API routes, whose endpoint picker chooses the pod for each
// request from what the model servers report (queue length, KV cache):
// model-aware load balancing for LLMs. Istio supports it on its gateways
// since 1.28, when istiod runs with ENABLE_GATEWAY_API_INFERENCE_EXTENSION.

// DefaultPickerPort is the gRPC (ext-proc) port of the reference endpoint
// picker.
const DefaultPickerPort = 9002

// EndpointPicker is the endpoint picker of a version's pool: a Service of
// the model's namespace in front of the picker's Deployment, which the
// caller deploys (it is started for one pool, by the pool's name).
type EndpointPicker struct {
	// Service names the picker's Service. A DNS-1035 label. Required.
	Service string
	// Port is its ext-proc port; 0 means DefaultPickerPort.
	Port int32
	// FailOpen sends requests to a pod of the pool when the picker does
	// not answer; by default they fail (FailClose), as the extension
	// recommends.
	FailOpen bool
}

// Validate reports every problem in p at once, as a *ValidationError, or nil.
func (p EndpointPicker) Validate() error {
	return fielderr.New("serving.EndpointPicker", p.validate(fieldpath.Path{}))
}

func (p EndpointPicker) validate(path fieldpath.Path) field.ErrorList {
	var errs field.ErrorList
	if p.Service == "" {
		errs = append(errs, field.Required(path.Child("service").Field(), "the endpoint picker's Service"))
	}
	for _, msg := range validation.IsDNS1035Label(p.Service) {
		if p.Service != "" {
			errs = append(errs, field.Invalid(path.Child("service").Field(), p.Service, msg))
		}
	}
	if p.Port < 0 || p.Port > 65535 {
		errs = append(errs, field.Invalid(path.Child("port").Field(), p.Port, "a port number, or 0 for 9002"))
	}
	return errs
}

// InferencePool validates m and picker and returns the pool of version
// version of m: named as the version's Service (DeploymentName), selecting
// the version's pods, on m's Service port port (which is the pods' port).
func InferencePool(m Model, version string, port int32, picker EndpointPicker) (*inferencev1.InferencePool, error) {
	c, err := Check(&m)
	if err != nil {
		return nil, err
	}
	return c.InferencePool(version, port, picker)
}

// InferencePool is a version's pool, as the package's InferencePool builds
// it, after checking its arguments as that does.
func (c Checked) InferencePool(version string, port int32, picker EndpointPicker) (*inferencev1.InferencePool, error) {
	m := *c.m
	errs := picker.validate(fieldpath.New("picker"))
	found := false
	for _, v := range m.Versions {
		found = found || v.Name == version
	}
	if !found {
		errs = append(errs, field.NotFound(fieldpath.New("version").Field(), version))
	}
	served := false
	for _, p := range m.runtime().Ports {
		served = served || p.Number == port && p.protocol() != TCP
	}
	if !served {
		errs = append(errs, field.Invalid(fieldpath.New("port").Field(), port, fmt.Sprintf("an HTTP or gRPC port of model %s's runtime", m.Name)))
	}
	if err := fielderr.New("serving.InferencePool", errs); err != nil {
		return nil, err
	}
	return inferencePool(m, version, port, picker), nil
}

func inferencePool(m Model, version string, port int32, picker EndpointPicker) *inferencev1.InferencePool {
	name := names.Deployment(m.Name, version)
	p := &inferencev1.InferencePool{
		TypeMeta:   metav1.TypeMeta{APIVersion: "inference.networking.k8s.io/v1", Kind: "InferencePool"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: m.namespace(), Labels: versionLabelsInto(make(map[string]string, len(m.Labels)+8), &m, version, name)},
	}
	p.Spec.Selector.MatchLabels = map[inferencev1.LabelKey]inferencev1.LabelValue{}
	for k, v := range SelectorLabels(m.Name, version) {
		p.Spec.Selector.MatchLabels[inferencev1.LabelKey(k)] = inferencev1.LabelValue(v)
	}
	p.Spec.TargetPorts = []inferencev1.Port{{Number: inferencev1.PortNumber(port)}}
	pickerPort := picker.Port
	if pickerPort == 0 {
		pickerPort = DefaultPickerPort
	}
	mode := inferencev1.EndpointPickerFailClose
	if picker.FailOpen {
		mode = inferencev1.EndpointPickerFailOpen
	}
	p.Spec.EndpointPickerRef = inferencev1.EndpointPickerRef{
		Name:        inferencev1.ObjectName(picker.Service),
		Port:        &inferencev1.Port{Number: inferencev1.PortNumber(pickerPort)},
		FailureMode: mode,
	}
	return p
}

// ModelRewrite is the InferenceModelRewrite (the Inference Extension's
// inference.networking.x-k8s.io/v1alpha2, served by its v1.5 endpoint
// pickers) of a version's pool: for each adapter the version loads in
// revisions (Adapter.Revisions), the requests naming the adapter are
// rewritten to its revisions by their weights, on the same pods. It is
// named as the pool; ok is false when the version has no such adapter.
func (c Checked) ModelRewrite(version string) (rw *inferencev1alpha2.InferenceModelRewrite, ok bool) {
	m := *c.m
	pool := names.Deployment(m.Name, version)
	rw = &inferencev1alpha2.InferenceModelRewrite{
		TypeMeta:   metav1.TypeMeta{APIVersion: inferencev1alpha2.GroupVersion.String(), Kind: "InferenceModelRewrite"},
		ObjectMeta: metav1.ObjectMeta{Name: pool, Namespace: m.namespace(), Labels: versionLabelsInto(make(map[string]string, len(m.Labels)+8), &m, version, pool)},
		Spec: inferencev1alpha2.InferenceModelRewriteSpec{PoolRef: &inferencev1alpha2.PoolObjectReference{
			Group: inferencev1alpha2.Group(inferencev1.GroupVersion.Group), Kind: "InferencePool", Name: inferencev1alpha2.ObjectName(pool)}},
	}
	for _, a := range m.AdaptersOf(version) {
		if len(a.Revisions) == 0 {
			continue
		}
		exact := inferencev1alpha2.MatchValidationType("Exact")
		rule := inferencev1alpha2.InferenceModelRewriteRule{Matches: []inferencev1alpha2.Match{{Model: &inferencev1alpha2.ModelMatch{Type: &exact, Value: a.Name}}}}
		for _, r := range a.Revisions {
			if r.Weight > 0 { // a weight of 0 is the API's "unset": left out
				rule.Targets = append(rule.Targets, inferencev1alpha2.TargetModel{ModelRewrite: r.Name, Weight: r.Weight})
			}
		}
		rw.Spec.Rules = append(rw.Spec.Rules, rule)
	}
	return rw, len(rw.Spec.Rules) > 0
}
