package mesh

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/mlmesh/mlmesh/internal/check"
	"github.com/mlmesh/mlmesh/internal/fielderr"
	"github.com/mlmesh/mlmesh/internal/labels"
	"github.com/mlmesh/mlmesh/names"
	"github.com/mlmesh/mlmesh/render"
	"github.com/mlmesh/mlmesh/security"
	"github.com/mlmesh/mlmesh/serving"
)

// The scoping family: with Namespace.ScopeSidecars, a Sidecar per model
// (named after it, selecting its pods) whose proxies receive and may reach
// only what the App declares they call: Istio's control plane, the App's
// egress hosts, and the models of Model.Calls with the hosts their routes
// send to. Its size does not grow with the number of models in the App or
// the mesh.

type scopingFamily struct {
	env       *appEnv
	workloads *workloadFamily
	egress    *egressFamily
	specs     map[int]security.Scope // by model index, for the models with one
	refs      refs[int]              // the model of each Sidecar
}

func deriveScoping(env *appEnv, workloads *workloadFamily, egress *egressFamily) (*scopingFamily, field.ErrorList) {
	var errs field.ErrorList
	f := &scopingFamily{env: env, workloads: workloads, egress: egress, specs: map[int]security.Scope{}}
	if env.app.Namespace.ScopeSidecars {
		for i, e := range env.app.Egress {
			for k, h := range e.Hosts {
				if strings.Contains(h, ".") {
					continue
				}
				errs = append(errs, field.Invalid(field.NewPath("egress").Index(i).Child("hosts").Index(k), h,
					"a fully qualified name: namespace.scopeSidecars lists the egress hosts in Sidecars, which refuse short names"))
			}
		}
	}
	for i, m := range env.app.Models {
		for k, h := range m.Reaches {
			errs = append(errs, reachable(modelPath(i).Child("reaches").Index(k), h)...)
		}
		for k, name := range m.Calls {
			if _, ok := workloads.byName(name); !ok || name == m.Name {
				errs = append(errs, field.NotFound(modelPath(i).Child("calls").Index(k), name))
			}
		}
		if !env.app.Namespace.ScopeSidecars || workloads.models[i].Sidecar == serving.SidecarSkip {
			continue
		}
		s := security.Scope{
			Name: m.Name, Namespace: env.ns,
			Selector: map[string]string{labels.App: m.Name},
			Hosts:    []string{security.ControlPlane},
			Labels:   labels.Merge(m.Labels, map[string]string{labels.App: m.Name}),
		}
		for _, e := range egress.specs {
			for _, h := range e.Hosts {
				if strings.Contains(h, ".") { // short names are reported above
					s.Hosts = appendNew(s.Hosts, e.Namespace+"/"+h)
				}
			}
		}
		for _, h := range m.Reaches {
			if reachable(nil, h) == nil { // the invalid are reported by derive
				s.Hosts = appendNew(s.Hosts, h)
			}
		}
		f.specs[i] = s
	}
	return f, errs
}

// reachable checks one of Model.Reaches as security.Scope checks its hosts,
// at path.
func reachable(path *field.Path, host string) field.ErrorList {
	err := security.Scope{Name: "reaches", Hosts: []string{host}}.Validate()
	var ve *fielderr.Error
	if !errors.As(err, &ve) {
		return nil
	}
	out := make(field.ErrorList, len(ve.Errors))
	for k, fe := range ve.Errors {
		c := *fe
		if path != nil {
			c.Field = path.String() + strings.TrimPrefix(c.Field, "hosts[0]")
		}
		out[k] = &c
	}
	return out
}

// storesReachable reports the versions of model i whose model is fetched
// at start from a store that the scoped Sidecar's hosts do not include:
// REGISTRY_ONLY would refuse the download, and the pods would never start.
func (f *scopingFamily) storesReachable(i int, hosts []string) field.ErrorList {
	var errs field.ErrorList
	m := f.workloads.models[i]
	for k, v := range m.Versions {
		store, hint := modelStore(m.Runtime, v.ModelURI)
		if store == "" || slices.ContainsFunc(hosts, func(h string) bool {
			if h == security.ControlPlane {
				return false // Istio's own services, not a store
			}
			_, host, _ := strings.Cut(h, "/")
			return check.Covers(store, host) || check.Covers(host, store) || storeHost(store, host)
		}) {
			continue
		}
		errs = append(errs, field.Invalid(modelPath(i).Child("versions").Index(k).Child("modelURI"), v.ModelURI, fmt.Sprintf(
			"namespace.scopeSidecars lets the pods reach only the App's egress hosts, and none serves %s: add %s to App.Egress", store, hint)))
	}
	return errs
}

// modelStore returns the host a model URI is fetched from when the server
// starts ("" for a path), and the egress that would reach it. An S3 bucket
// is served by regional hosts: any host under amazonaws.com with s3 in it
// counts (storeHost).
func modelStore(rt serving.Runtime, uri string) (host, hint string) {
	if !serving.FetchedAtStart(rt, uri) {
		return "", ""
	}
	scheme, rest, ok := strings.Cut(uri, "://")
	switch {
	case !ok: // a model hub's id
		return "huggingface.co", `egress.API("huggingface", "", "huggingface.co", ...) with the hub's download hosts`
	case scheme == "s3":
		return "s3.amazonaws.com", "egress.S3 of the bucket's region"
	case scheme == "gs":
		return "storage.googleapis.com", "egress.GCS"
	case scheme == "http" || scheme == "https":
		host, _, _ := strings.Cut(rest, "/")
		host, _, _ = strings.Cut(host, ":")
		return host, fmt.Sprintf("an egress for %s", host)
	}
	return "", "" // a scheme mlmesh does not know the host of
}

// storeHost reports whether an egress host serves the store: S3's regional
// and bucket hosts serve "s3.amazonaws.com".
func storeHost(store, host string) bool {
	return store == "s3.amazonaws.com" && strings.HasSuffix(host, ".amazonaws.com") && strings.Contains(host, "s3")
}

// appendNew appends v to list unless list holds it.
func appendNew(list []string, v string) []string {
	if slices.Contains(list, v) {
		return list
	}
	return append(list, v)
}

// check adds the hosts of the called models' routes, which routes derived.
func (f *scopingFamily) check(routes *routeFamily) field.ErrorList {
	var errs field.ErrorList
	env := f.env
	for i := range env.app.Models {
		spec, ok := f.specs[i]
		if !ok {
			continue
		}
		s := &spec
		for _, name := range env.app.Models[i].Calls {
			j, ok := f.workloads.byName(name)
			if !ok {
				continue
			}
			s.Hosts = appendNew(s.Hosts, env.ns+"/"+names.ServiceHost(name, env.ns))
			if env.gatewayAPI() { // the routes send to the versions' Services
				for _, v := range env.app.Models[j].Versions {
					s.Hosts = appendNew(s.Hosts, env.ns+"/"+names.ServiceHost(names.Deployment(name, v.Name), env.ns))
				}
			}
			for _, h := range destinations(routes.specs[j].Rules) {
				if h != "" && !f.egress.hosts[h] {
					s.Hosts = appendNew(s.Hosts, env.ns+"/"+h)
				}
			}
		}
		errs = append(errs, f.storesReachable(i, s.Hosts)...)
		v := *s
		v.Labels = nil
		if err := v.Validate(); err != nil && f.workloads.valid(i) {
			errs = append(errs, field.InternalError(modelPath(i).Child("name"), fmt.Errorf("the Sidecar derived for namespace.scopeSidecars: %w", err)))
		}
		f.specs[i] = spec
	}
	return errs
}

func (f *scopingFamily) objects(add adder) {
	for i := range f.env.app.Models {
		if s, ok := f.specs[i]; ok {
			add(kindSidecar, f.env.ns, s.Name, f.refs.add(i))
		}
	}
}

func (f *scopingFamily) build(_ kind, ref int32) (render.Object, error) {
	return security.Sidecar(f.specs[f.refs[ref]])
}

func (f *scopingFamily) from(_ kind, ref int32) *field.Path {
	return modelPath(f.refs[ref]).Child("name")
}
