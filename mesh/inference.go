package mesh

import (
	"slices"
	"strconv"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/mlmesh/mlmesh/internal/fielderr"
	"github.com/mlmesh/mlmesh/names"
	"github.com/mlmesh/mlmesh/render"
	"github.com/mlmesh/mlmesh/routing"
	"github.com/mlmesh/mlmesh/serving"
)

// The inference family: an InferencePool per version of the models that
// ask for one (Model.Inference), in the Gateway API dialect. The routes of
// gateways (exposure and fronts) send those models' versions to the pools
// (routing.Spec.Pools); mesh routes still send to the version Services,
// which Istio's sidecars and waypoints route to.

// Inference sends the requests a gateway routes to a model through
// InferencePools of the Gateway API Inference Extension
// (inference.networking.k8s.io/v1): one per version, named as the
// version's Service (<model>-<version>), selecting the version's pods on
// the port the gateway routes to, whose endpoint picker chooses the pod
// for each request from what the model servers report (queue, KV cache).
// Each rule of a gateway route may send to one pool: Istio 1.31 gives a
// rule one endpoint picker, so a weighted split between pools is refused;
// a preview or canary routes its pool by a header match instead. Requests
// inside the mesh still go to the versions' Services, split by weight. It needs
// App.API GatewayAPI, a gateway route to the model (Expose, or a front
// Route), and istiod run with ENABLE_GATEWAY_API_INFERENCE_EXTENSION=true.
type Inference struct {
	// Pickers are the endpoint pickers of the versions' pools, by version
	// name: one per version, each deployed by the caller for that pool.
	Pickers map[string]serving.EndpointPicker
}

type inferenceFamily struct {
	env       *appEnv
	workloads *workloadFamily
	refs      refs[poolRef]

	hosts []string                         // the hosts of the models with pools
	ports map[int]int32                    // the pools' target port, by model
	pick  map[int][]serving.EndpointPicker // by model, by version
}

func inferencePath(i int) *field.Path { return modelPath(i).Child("inference") }

// poolRef is a version's pool, or its InferenceModelRewrite.
type poolRef struct {
	model, version int
	rewrite        bool
}

func deriveInference(env *appEnv, workloads *workloadFamily) (*inferenceFamily, field.ErrorList) {
	var errs field.ErrorList
	f := &inferenceFamily{env: env, workloads: workloads, ports: map[int]int32{}, pick: map[int][]serving.EndpointPicker{}}
	for i, m := range env.app.Models {
		if m.Inference == nil {
			for k, a := range m.Adapters {
				if len(a.Revisions) > 0 {
					errs = append(errs, field.Invalid(modelPath(i).Child("adapters").Index(k).Child("revisions"), len(a.Revisions),
						"the split between an adapter's revisions is made by the InferencePool's endpoint picker (an InferenceModelRewrite): needs models["+strconv.Itoa(i)+"].inference"))
				}
			}
			continue
		}
		ip := inferencePath(i)
		if !env.gatewayAPI() {
			errs = append(errs, field.Invalid(ip, field.OmitValueType{}, "InferencePools are Gateway API backends: needs api: gateway"))
			continue
		}
		if env.ambient() && (m.Access != nil || env.app.Namespace.DefaultDeny) {
			// The gateway sends to the pool's shadow Service, which no
			// waypoint serves: the model's policies would not apply to its
			// requests, and a default deny would refuse them.
			errs = append(errs, field.Invalid(ip, field.OmitValueType{}, "in an ambient namespace a pool's traffic does not pass the waypoint, which applies the model's access and namespace.defaultDeny: leave them unset, or the pools"))
			continue
		}
		for _, v := range sortedVersionKeys(m.Inference.Pickers) {
			if !slices.ContainsFunc(m.Versions, func(sv serving.Version) bool { return sv.Name == v }) {
				errs = append(errs, field.NotFound(ip.Child("pickers").Key(v), v))
			}
		}
		pickers := make([]serving.EndpointPicker, len(m.Versions))
		for k, v := range m.Versions {
			pk, ok := m.Inference.Pickers[v.Name]
			if !ok {
				// At the map, which has no such key to name.
				errs = append(errs, field.Required(ip.Child("pickers"), "an endpoint picker for the pool of version "+v.Name))
				continue
			}
			errs = append(errs, fielderr.Reroot(ip.Child("pickers").Key(v.Name), pk.Validate())...)
			pickers[k] = pk
		}
		port, ok := f.targetPort(i, m)
		if !ok {
			errs = append(errs, field.Invalid(ip, field.OmitValueType{}, "the model has no HTTP port for the pools to target"))
			continue
		}
		f.ports[i], f.pick[i] = port, pickers
		f.hosts = append(f.hosts, names.ServiceHost(m.Name, env.ns))
	}
	return f, errs
}

// targetPort is the port model i's pools target: the one its gateway
// routes to (Expose.Port), else its first HTTP inference port.
func (f *inferenceFamily) targetPort(i int, m Model) (int32, bool) {
	if m.Expose != nil && m.Expose.Port != 0 {
		return int32(m.Expose.Port), true
	}
	return serving.ServicePort(f.workloads.model(i), serving.HTTP)
}

func sortedVersionKeys(m map[string]serving.EndpointPicker) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// check reports a model with pools that no gateway route sends to (pools
// are backends of gateway routes only), and a gateway route's rule that
// splits between pools.
func (f *inferenceFamily) check(exposure *exposureFamily, fronts *frontFamily) field.ErrorList {
	var errs field.ErrorList
	for _, i := range sortedModels(f.pick) {
		if !f.gatewayRouted(i, exposure, fronts) {
			errs = append(errs, field.Invalid(inferencePath(i), field.OmitValueType{},
				"no gateway route sends to the model, and only gateways route to InferencePools: expose it, or name it in a route of App.Routes"))
		}
	}
	if len(f.hosts) == 0 {
		return errs
	}
	for _, r := range exposure.routes {
		for k, rule := range r.spec.Rules {
			errs = append(errs, f.splitErrors(modelPath(r.model).Child("traffic", "rules").Index(k).Child("split"), rule.Split)...)
		}
	}
	for i, spec := range fronts.specs {
		for k, rule := range spec.Rules {
			errs = append(errs, f.splitErrors(fronts.sources[i].splitPath(k), rule.Split)...)
		}
	}
	return errs
}

// splitErrors refuses a rule that sends to more than one pool. Istio 1.31
// gives a route rule one endpoint picker, the last pool's: the requests
// for the other pools would be placed by a picker that knows none of their
// pods (TestIstioOnePickerPerRule). A canary between pooled versions is a
// header match per version instead, each rule to one pool.
func (f *inferenceFamily) splitErrors(path *field.Path, split []routing.Destination) field.ErrorList {
	pools := 0
	for _, d := range split {
		if d.Subset != "" && d.Weight > 0 || len(split) == 1 {
			if slices.Contains(f.hosts, d.Host) {
				pools++
			}
		}
	}
	if pools <= 1 {
		return nil
	}
	return field.ErrorList{field.Invalid(path, field.OmitValueType{},
		"a weighted split between InferencePools: Istio gives a rule one endpoint picker, the last pool's, which would place the other pools' requests; route each pool by its own rule (a header match), or leave the model's inference unset")}
}

func sortedModels(m map[int][]serving.EndpointPicker) []int {
	out := make([]int, 0, len(m))
	for i := range m {
		out = append(out, i)
	}
	slices.Sort(out)
	return out
}

// gatewayRouted reports whether an ingress or front route sends to model i.
func (f *inferenceFamily) gatewayRouted(i int, exposure *exposureFamily, fronts *frontFamily) bool {
	host := names.ServiceHost(f.env.app.Models[i].Name, f.env.ns)
	for _, r := range exposure.routes {
		if r.model == i || slices.Contains(destinations(r.spec.Rules), host) {
			return true
		}
	}
	for _, spec := range fronts.specs {
		if slices.Contains(destinations(spec.Rules), host) {
			return true
		}
	}
	return false
}

func (f *inferenceFamily) objects(add adder) {
	for i, m := range f.env.app.Models {
		if _, ok := f.pick[i]; !ok {
			continue
		}
		for k, v := range m.Versions {
			add(kindInferencePool, f.env.ns, names.Deployment(m.Name, v.Name), f.refs.add(poolRef{i, k, false}))
			if _, ok := f.workloads.checked[i].ModelRewrite(v.Name); ok {
				add(kindModelRewrite, f.env.ns, names.Deployment(m.Name, v.Name), f.refs.add(poolRef{i, k, true}))
			}
		}
	}
}

func (f *inferenceFamily) build(_ kind, ref int32) (render.Object, error) {
	r := f.refs[ref]
	version := f.env.app.Models[r.model].Versions[r.version].Name
	if r.rewrite {
		rw, _ := f.workloads.checked[r.model].ModelRewrite(version)
		return rw, nil
	}
	return f.workloads.checked[r.model].InferencePool(version, f.ports[r.model], f.pick[r.model][r.version])
}

func (f *inferenceFamily) from(_ kind, ref int32) *field.Path {
	r := f.refs[ref]
	return inferencePath(r.model).Child("pickers").Key(f.env.app.Models[r.model].Versions[r.version].Name)
}
