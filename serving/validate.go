package serving

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/mlmesh/mlmesh/internal/check"
	"github.com/mlmesh/mlmesh/internal/fielderr"
	"github.com/mlmesh/mlmesh/internal/fieldpath"
	"github.com/mlmesh/mlmesh/internal/labels"
	"github.com/mlmesh/mlmesh/names"
)

// Validate reports every problem in m at once, as a *ValidationError, or nil.
func (m Model) Validate() error {
	return fielderr.New("serving.Model", m.validate(fieldpath.Path{}, nil))
}

var reservedLabels = sets.New(labels.App, labels.Version, labels.ManagedBy)

// validate checks m; c, when not nil, skips the runtime and the resources
// it remembers as valid, and remembers them when they are.
func (m *Model) validate(root fieldpath.Path, c *Checker) field.ErrorList {
	var errs field.ErrorList
	errs = append(errs, check.Name(root.Child("name"), m.Name)...)
	// The Deployment name <model>-<version> must stay a label too; checked per version below.
	if m.Namespace != "" {
		errs = append(errs, check.Label(root.Child("namespace"), m.Namespace)...)
	}
	switch m.Sidecar {
	case SidecarDefault, SidecarInject, SidecarSkip, SidecarAmbient:
	default:
		errs = append(errs, field.NotSupported(root.Child("sidecar").Field(), m.Sidecar, []Sidecar{SidecarDefault, SidecarInject, SidecarSkip, SidecarAmbient}))
	}
	if m.ServiceAccountName != "" {
		for _, msg := range check.DNS1123Subdomain(m.ServiceAccountName) {
			errs = append(errs, field.Invalid(root.Child("serviceAccountName").Field(), m.ServiceAccountName, msg))
		}
	}
	errs = append(errs, validateLabels(root.Child("labels"), m.Labels)...)
	if rt := m.runtime(); !c.validRuntime(rt) {
		rerrs := rt.validate(root.Child("runtime"))
		errs = append(errs, rerrs...)
		if len(rerrs) == 0 {
			c.rememberRuntime(rt)
		}
	}

	errs = append(errs, m.validateLLM(root)...)
	vp := root.Child("versions")
	if len(m.Versions) == 0 {
		errs = append(errs, field.Required(vp.Field(), "a model needs at least one version"))
	}
	for i := range m.Versions {
		errs = append(errs, m.validateVersion(vp.Index(i), i, c)...)
	}
	return errs
}

// validateVersion checks version i. A model has few versions, and a
// version few env vars and ports: looking back through the earlier ones
// finds a duplicate for less than making a map costs.
func (m *Model) validateVersion(p fieldpath.Path, i int, c *Checker) field.ErrorList {
	var errs field.ErrorList
	rt := m.runtime()
	v := &m.Versions[i]
	errs = append(errs, check.Name(p.Child("name"), v.Name)...)
	if v.Name != "" {
		if slices.ContainsFunc(m.Versions[:i], func(w Version) bool { return w.Name == v.Name }) {
			errs = append(errs, field.Duplicate(p.Child("name").Field(), v.Name))
		}
		if m.Name != "" {
			if n := len(m.Name) + 1 + len(v.Name); n > validation.DNS1123LabelMaxLength {
				d := names.Deployment(m.Name, v.Name)
				errs = append(errs, field.Invalid(p.Child("name").Field(), v.Name,
					fmt.Sprintf("the Deployment name %q is %d characters, want at most %d", d, n, validation.DNS1123LabelMaxLength)))
			}
		}
		if msgs := check.LabelValue(v.Name); len(msgs) > 0 {
			errs = append(errs, field.Invalid(p.Child("name").Field(), v.Name, strings.Join(msgs, "; ")))
		}
	}
	if v.modelURI() == "" && rt.NeedsModelURI {
		errs = append(errs, field.Required(p.Child("modelURI").Field(), fmt.Sprintf("runtime %q loads the model from it (s3://, gs://, a path)", rt.Name)))
	}
	if v.Image == "" && rt.Image == "" {
		errs = append(errs, field.Required(p.Child("image").Field(), "the runtime has no default image, so each version must name one"))
	} else if strings.ContainsAny(v.Image, " \t\n") {
		errs = append(errs, field.Invalid(p.Child("image").Field(), v.Image, "an image reference has no whitespace"))
	}
	if v.Replicas != nil && *v.Replicas < 0 {
		errs = append(errs, field.Invalid(p.Child("replicas").Field(), *v.Replicas, "must be 0 or more"))
	}
	if v.Autoscaled && v.Replicas != nil && v.Autoscaling == nil {
		errs = append(errs, field.Invalid(p.Child("replicas").Field(), *v.Replicas, "must be unset when autoscaled is true: the autoscaler owns it"))
	}
	if v.GPUs < 0 {
		errs = append(errs, field.Invalid(p.Child("gpus").Field(), v.GPUs, "must be 0 or more"))
	}
	switch v.ImagePullPolicy {
	case "", corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever:
	default:
		errs = append(errs, field.NotSupported(p.Child("imagePullPolicy").Field(), v.ImagePullPolicy,
			[]corev1.PullPolicy{corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever}))
	}
	for j, e := range v.Env {
		ep := p.Child("env").Index(j).Child("name")
		if e.Name == "" {
			errs = append(errs, field.Required(ep.Field(), ""))
			continue
		}
		for _, msg := range validation.IsEnvVarName(e.Name) {
			errs = append(errs, field.Invalid(ep.Field(), e.Name, msg))
		}
		if slices.ContainsFunc(v.Env[:j], func(f corev1.EnvVar) bool { return f.Name == e.Name }) {
			errs = append(errs, field.Duplicate(ep.Field(), e.Name))
		}
	}
	errs = append(errs, validateLabels(p.Child("nodeSelector"), v.NodeSelector)...)
	if !c.validResources(&v.Resources) {
		rerrs := validateResources(p.Child("resources"), v.Resources)
		errs = append(errs, rerrs...)
		if len(rerrs) == 0 {
			c.rememberResources(&v.Resources)
		}
	}
	errs = append(errs, v.validateScaling(p)...)
	errs = append(errs, v.validatePod(p, rt)...)
	return errs
}

// validateResources checks what the API server checks of a container's
// resources: qualified names, no negative quantity, requests within limits.
func validateResources(p fieldpath.Path, r corev1.ResourceRequirements) field.ErrorList {
	var errs field.ErrorList
	for _, list := range []struct {
		name string
		rl   corev1.ResourceList
	}{{"limits", r.Limits}, {"requests", r.Requests}} {
		for name, q := range list.rl {
			// The entry's path, made only for an error.
			at := func() *field.Path { return p.Child(list.name).Key(string(name)).Field() }
			for _, msg := range check.QualifiedName(string(name)) {
				errs = append(errs, field.Invalid(at(), string(name), "a resource name: "+msg))
			}
			if q.Sign() < 0 {
				errs = append(errs, field.Invalid(at(), q.String(), "must be 0 or more"))
			}
			if list.name == "requests" {
				if l, ok := r.Limits[name]; ok && q.Cmp(l) > 0 {
					errs = append(errs, field.Invalid(at(), q.String(), fmt.Sprintf("must be at most the limit, %s", l.String())))
				}
			}
		}
	}
	return check.Sorted(errs)
}

func (r *Runtime) validate(p fieldpath.Path) field.ErrorList {
	var errs field.ErrorList
	if r.Name == "" {
		errs = append(errs, field.Required(p.Child("name").Field(), ""))
	} else if msgs := check.LabelValue(r.Name); len(msgs) > 0 {
		errs = append(errs, field.Invalid(p.Child("name").Field(), r.Name, strings.Join(msgs, "; ")))
	}
	if len(r.Ports) == 0 {
		errs = append(errs, field.Required(p.Child("ports").Field(), "a model server listens on at least one port"))
	}
	for i, port := range r.Ports {
		pp := p.Child("ports").Index(i)
		for _, msg := range validation.IsValidPortNum(int(port.Number)) {
			errs = append(errs, field.Invalid(pp.Child("number").Field(), port.Number, msg))
		}
		if slices.ContainsFunc(r.Ports[:i], func(q Port) bool { return q.Number == port.Number }) {
			errs = append(errs, field.Duplicate(pp.Child("number").Field(), port.Number))
		}
		if !knownProtocol(port.protocol()) {
			errs = append(errs, field.NotSupported(pp.Child("protocol").Field(), port.Protocol, []Protocol{HTTP, HTTP2, GRPC, TCP}))
			continue
		}
		n := port.ServiceName()
		for _, msg := range check.PortName(n) {
			errs = append(errs, field.Invalid(pp.Child("name").Field(), port.Name, fmt.Sprintf("port name %q: %s", n, msg)))
		}
		if slices.ContainsFunc(r.Ports[:i], func(q Port) bool { return knownProtocol(q.protocol()) && q.ServiceName() == n }) {
			errs = append(errs, field.Duplicate(pp.Child("name").Field(), n))
		}
	}
	if _, ok := r.probePort(); !ok && len(r.Ports) > 0 {
		errs = append(errs, field.NotFound(p.Child("readinessPort").Field(), r.ReadinessPort))
	}
	if r.RunAsUser < 0 {
		errs = append(errs, field.Invalid(p.Child("runAsUser").Field(), r.RunAsUser, "must be a user id above 0"))
	}
	return errs
}

// knownProtocol reports whether a model server's port may speak p.
func knownProtocol(p Protocol) bool {
	switch p {
	case HTTP, HTTP2, GRPC, TCP:
		return true
	}
	return false
}

// validateLabels checks a label map; the model's own labels may not set
// those mlmesh sets.
func validateLabels(p fieldpath.Path, m map[string]string) field.ErrorList {
	errs := check.Labels(p, m)
	if p.Name() == "labels" {
		for _, k := range sortedKeys(m) {
			if reservedLabels.Has(k) {
				errs = append(errs, field.Forbidden(p.Key(k).Field(), "set by mlmesh"))
			}
		}
	}
	return errs
}

// validateLLM checks the served name and the adapters: only a server that
// loads adapters takes them, names are unique and what clients can send,
// and every version an adapter names exists.
func (m *Model) validateLLM(root fieldpath.Path) field.ErrorList {
	if m.ServedName == "" && len(m.Adapters) == 0 {
		return nil // the common case: nothing of an LLM server's to check
	}
	var errs field.ErrorList
	rt := m.runtime()
	llmOnly := fmt.Sprintf("runtime %q serves the model under its name and loads no adapters; the LLM servers (vllm, sglang) do", rt.Name)
	if m.ServedName != "" {
		if rt.LoRA == nil {
			errs = append(errs, field.Invalid(root.Child("servedName").Field(), m.ServedName, llmOnly))
		} else if msg := servableName(m.ServedName); msg != "" {
			errs = append(errs, field.Invalid(root.Child("servedName").Field(), m.ServedName, msg))
		}
	}
	ap := root.Child("adapters")
	if len(m.Adapters) > 0 && rt.LoRA == nil {
		return append(errs, field.Invalid(ap.Field(), len(m.Adapters), llmOnly))
	}
	seen := map[string]string{m.Served(): root.Child("servedName").String()}
	for i, a := range m.Adapters {
		p := ap.Index(i)
		switch msg := servableName(a.Name); {
		case a.Name == "":
			errs = append(errs, field.Required(p.Child("name").Field(), "the name clients give the adapter"))
		case msg != "": // no '=' either: the servers read name=source
			errs = append(errs, field.Invalid(p.Child("name").Field(), a.Name, msg))
		case seen[a.Name] != "":
			errs = append(errs, field.Invalid(p.Child("name").Field(), a.Name, "is already the name of this model's "+seen[a.Name]+": each name the server serves is one model"))
		default:
			seen[a.Name] = p.Child("name").String()
		}
		switch {
		case len(a.Revisions) > 0 && a.Source != "":
			errs = append(errs, field.Invalid(p.Child("source").Field(), a.Source, "give either source or revisions: the revisions are loaded from their own sources"))
		case len(a.Revisions) > 0:
			errs = append(errs, validateRevisions(p.Child("revisions"), a.Revisions, seen)...)
		case a.Source == "":
			errs = append(errs, field.Required(p.Child("source").Field(), "where the server loads the adapter from: a Hugging Face id or a path"))
		case strings.ContainsAny(a.Source, " \t\n"):
			errs = append(errs, field.Invalid(p.Child("source").Field(), a.Source, "has no whitespace"))
		}
		versions := map[string]bool{}
		for j, v := range a.Versions {
			vp := p.Child("versions").Index(j)
			switch {
			case !slices.ContainsFunc(m.Versions, func(x Version) bool { return x.Name == v }):
				fe := field.NotFound(vp.Field(), v)
				fe.Detail = "the adapter is loaded by versions of the model"
				errs = append(errs, fe)
			case versions[v]:
				errs = append(errs, field.Duplicate(vp.Field(), v))
			}
			versions[v] = true
		}
	}
	return errs
}

// servableName says what is wrong with a name clients send as the model
// of a request, or "": at most 253 characters of letters, digits and
// "-._/:".
func servableName(s string) string {
	if len(s) > 253 {
		return "must be at most 253 characters"
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-._/:", r)) {
			return fmt.Sprintf("may contain only letters, digits and '-', '.', '_', '/', ':' (not %q)", r)
		}
	}
	return ""
}

// validateRevisions checks an adapter's revisions: at least two, each a
// name the server can serve (claimed in seen) and a source, weights from
// 0 to 100 adding up to 100.
func validateRevisions(p fieldpath.Path, revisions []AdapterRevision, seen map[string]string) field.ErrorList {
	var errs field.ErrorList
	if len(revisions) < 2 {
		errs = append(errs, field.Invalid(p.Field(), len(revisions), "a canary between revisions needs at least two; one revision is an adapter's source"))
	}
	var total int32
	for i, r := range revisions {
		rp := p.Index(i)
		switch msg := servableName(r.Name); {
		case r.Name == "":
			errs = append(errs, field.Required(rp.Child("name").Field(), "the name the server serves the revision under"))
		case msg != "":
			errs = append(errs, field.Invalid(rp.Child("name").Field(), r.Name, msg))
		case seen[r.Name] != "":
			errs = append(errs, field.Invalid(rp.Child("name").Field(), r.Name, "is already the name of this model's "+seen[r.Name]+": each name the server serves is one model"))
		default:
			seen[r.Name] = rp.Child("name").String()
		}
		if r.Source == "" || strings.ContainsAny(r.Source, " \t\n") {
			errs = append(errs, field.Invalid(rp.Child("source").Field(), r.Source, "where the server loads the revision from, without whitespace"))
		}
		if r.Weight < 0 || r.Weight > 100 {
			errs = append(errs, field.Invalid(rp.Child("weight").Field(), r.Weight, "must be from 0 to 100"))
		}
		total += r.Weight
	}
	if len(revisions) >= 2 && total != 100 {
		errs = append(errs, field.Invalid(p.Field(), total, "the revisions' weights add up to 100"))
	}
	return errs
}
