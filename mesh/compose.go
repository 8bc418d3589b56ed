package mesh

import (
	"fmt"
	"io"
	"slices"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/mlmesh/mlmesh/internal/check"
	"github.com/mlmesh/mlmesh/internal/fielderr"
	"github.com/mlmesh/mlmesh/internal/fieldpath"
	"github.com/mlmesh/mlmesh/render"
)

// An App is composed from families of objects. Each family is one file of
// this package that holds its derivation from the App, its cross-checks and
// the building of its objects:
//
//	namespace.go   Namespace and PeerAuthentication      App.Namespace
//	gateways.go    Gateway                               App.Gateways
//	egress.go      ServiceEntry, TLS DestinationRules    App.Egress
//	workloads.go   Service and a Deployment per version  App.Models
//	routes.go      a model's DestinationRule and mesh VirtualService
//	exposure.go    a model's VirtualService on a gateway Model.Expose
//	fronts.go      front VirtualServices                 App.Routes,
//	               (and each endpoint's route)           App.Endpoints
//	endpoint.go    an endpoint's body router: its       App.Endpoints
//	               Deployment, Service, TLS DestinationRule
//	               and EnvoyFilter on the gateway
//	inference.go   an InferencePool per version          Model.Inference
//	identity.go    a model's ServiceAccount              Model.Identity
//	access.go      a model's AuthorizationPolicies and   Model.Access,
//	               RequestAuthentication, default deny   Namespace.DefaultDeny
//	tokens.go      a gateway's RequestAuthentication     App.GatewayJWT,
//	               and token requirement                 Expose.RequireJWT
//	scoping.go     a model's Sidecar                     Namespace.ScopeSidecars
//
// compose (below) is the one place that says in which order the families
// are derived and checked, and what each takes from the others: a family's
// derive function takes the App (appEnv) and the families it reads, and
// returns its own result and problems; no family writes another's state.
// What a later family decides for an earlier one (exposure binding a
// model's routes to a gateway) is returned and handed over in compose.
//
// Adding a family is a file with a derive function and a type that
// implements family, and its lines in compose. A kind mlmesh has not built
// before is a line in kinds.go.
type family interface {
	// objects lists the family's objects; ref is the family's own
	// reference to each (an index in a list of typed references it keeps),
	// which build and from are given back.
	objects(add adder)
	// build builds one of the family's objects. It is called only when
	// every family was derived and checked without a problem, and then
	// fails only on a defect of mlmesh's own.
	build(k kind, ref int32) (render.Object, error)
	// from is the spec element an object derives from, for errors that
	// name the object (two objects of one name).
	from(k kind, ref int32) *field.Path
}

// adder lists one object of a family, with the family's reference to it.
type adder func(k kind, namespace, name string, ref int)

// refs are a family's typed references to the objects it lists.
type refs[R any] []R

// add appends a reference and returns its index, the ref the composer
// hands back to build and from.
func (r *refs[R]) add(ref R) int {
	*r = append(*r, ref)
	return len(*r) - 1
}

// appEnv is the App as every family reads it: the App itself, its
// namespace's name (a stand-in where the name is invalid, so that the
// families still find their own problems) and its dialect. compose makes
// it; nothing writes it after.
type appEnv struct {
	app     App
	ns      string
	nsValid bool // the namespace's name is valid: what the families derive from it is
}

// standInNamespace replaces an invalid App namespace while the other
// families derive, so that they report their own problems, not the
// namespace's again.
const standInNamespace = "invalid-namespace"

func newAppEnv(a App) *appEnv {
	env := &appEnv{app: a, ns: a.Namespace.Name}
	env.nsValid = len(check.Name(fieldpath.New("name"), a.Namespace.Name)) == 0
	if !env.nsValid {
		env.ns = standInNamespace
	}
	return env
}

func (env *appEnv) gatewayAPI() bool { return env.app.API == GatewayAPI }
func (env *appEnv) ambient() bool    { return env.app.Namespace.Injection == InjectAmbient }

// compose derives every family of the App, in order, then makes the
// checks that need families derived after the one they check. Every
// problem is returned; the families are only built from when there is
// none.
func compose(a App) (*plan, field.ErrorList) {
	env := newAppEnv(a)

	// Derive, each family from the App and the families before it.
	namespace, e0 := deriveNamespace(env)
	gateways, e1 := deriveGateways(env)
	egress, e2 := deriveEgress(env)
	workloads, e3 := deriveWorkloads(env)
	routes, e4 := deriveRoutes(env, workloads, egress)
	exposure, e5 := deriveExposure(env, gateways, workloads, routes)
	routes.bind(exposure.bound) // models whose own VirtualService the gateway uses
	fronts, e6 := deriveFronts(env, gateways, workloads)
	inference, e7 := deriveInference(env, workloads)
	identity, e8 := deriveIdentity(env)
	access, e9 := deriveAccess(env, workloads)
	tokens, e10 := deriveTokens(env, gateways)
	scoping, e11 := deriveScoping(env, workloads, egress)
	endpoints, e12 := deriveEndpoints(env, gateways)
	errs := slices.Concat(e0, e1, e2, e3, e4, e5, e6, e7, e8, e9, e10, e11, e12)

	// Check what needs the later families. Routes claim their hosts on
	// gateways in this order, so that the later of two is reported.
	claims := make(hostClaims, len(a.Models)) // a model bound to a gateway claims a host
	errs = append(errs, routes.check(gateways.valid, claims)...)
	errs = append(errs, exposure.check(inference.hosts, claims)...)
	errs = append(errs, fronts.check(routes, inference.hosts, claims)...)
	errs = append(errs, inference.check(exposure, fronts)...)
	errs = append(errs, access.check(gateways, exposure, fronts)...)
	errs = append(errs, tokens.check(workloads, fronts)...)
	errs = append(errs, scoping.check(routes)...)

	return &plan{
		families:  []family{namespace, gateways, egress, workloads, routes, exposure, fronts, inference, identity, access, tokens, scoping, endpoints},
		workloads: workloads,
		routes:    routes,
	}, errs
}

// plan is an App's families, derived and checked. Objects are built from
// it lazily, in apply order, so that a large App can be rendered without
// holding all of its objects.
type plan struct {
	families  []family
	workloads *workloadFamily // to build Services and Deployments into reused storage
	routes    *routeFamily    // and DestinationRules and VirtualServices
}

// item is one object to build: its identity, the family that builds it and
// the family's reference to it.
type item struct {
	namespace string
	name      string
	ref       int32
	seq       int32 // order of listing, the last sort key
	rank      uint16
	kind      kind
	family    uint8 // index in plan.families
}

// Validate reports every problem in the App at once, including the
// cross-checks that Build makes, as a *ValidationError, or nil.
func (a App) Validate() error {
	_, _, err := a.plan()
	return err
}

// Build validates the App and returns its objects in apply order (see
// render.Sort): the Namespace, its PeerAuthentication, ServiceEntries,
// Services, Deployments, DestinationRules, Gateways and VirtualServices.
// Before returning it cross-checks them: every route destination is a
// Service or ServiceEntry of the App and every subset it names exists; every
// subset selects the pods of exactly one version; every host bound to a
// gateway is served by it; no two objects share a kind, namespace and name.
// Nothing is returned if any check fails.
func Build(a App) ([]render.Object, error) {
	p, items, err := a.plan()
	if err != nil {
		return nil, err
	}
	objs := make([]render.Object, len(items))
	for i := range items {
		if objs[i], err = p.build(&items[i]); err != nil {
			return nil, err
		}
	}
	return objs, nil
}

// Render validates the App and writes its canonical YAML stream to w, the
// same bytes as render.WriteYAML(w, Build(a)), building and encoding one
// object at a time. Nothing is written if the App is invalid.
func Render(w io.Writer, a App) error {
	enc := render.NewEncoder(w)
	return each(a, enc.Encode, true) // Encode is done with each object when it returns
}

// each validates the App, then builds its objects one at a time in apply
// order and passes each to yield, stopping at yield's first error. With
// reuse, families may build each object into the storage of the one before,
// for a yield that is done with an object when it returns.
func each(a App, yield func(render.Object) error, reuse bool) error {
	p, items, err := a.plan()
	if err != nil {
		return err
	}
	p.workloads.reuse, p.routes.reuse = reuse, reuse
	for i := range items {
		o, err := p.build(&items[i])
		if err != nil {
			return err
		}
		if err := yield(o); err != nil {
			return err
		}
	}
	return nil
}

// reused is p, the storage a family builds into, when reuse is set; nil
// (build a new object) when not.
func reused[T any](reuse bool, p *T) *T {
	if reuse {
		return p
	}
	return nil
}

// build builds one item. The App was validated whole before, so a failure
// is a defect of mlmesh's: it is reported as one, naming the object,
// rather than written half.
func (p *plan) build(it *item) (render.Object, error) {
	o, err := p.families[it.family].build(it.kind, it.ref)
	if err != nil {
		return nil, fmt.Errorf("mesh: building %s %s/%s of a valid App failed (a defect of mlmesh's: please report it): %w", it.kind, it.namespace, it.name, err)
	}
	return o, nil
}

// plan derives and checks every family of the App and lists its objects in
// apply order.
func (a App) plan() (*plan, []item, error) {
	p, errs := compose(a)
	if len(errs) > 0 {
		return nil, nil, fielderr.New("mesh.App", once(errs))
	}
	items := p.items()
	if errs := p.uniqueObjects(items); len(errs) > 0 {
		return nil, nil, fielderr.New("mesh.App", errs)
	}
	return p, items, nil
}

// items lists the objects of every family in apply order: by kind (render's
// frozen order), namespace and name.
func (p *plan) items() []item {
	items := make([]item, 0, 2+5*len(p.workloads.models))
	for fi, f := range p.families {
		f.objects(func(k kind, namespace, name string, ref int) {
			items = append(items, item{namespace: namespace, name: name, ref: int32(ref),
				seq: int32(len(items)), rank: kinds[k].rank, kind: k, family: uint8(fi)})
		})
	}
	sortItems(items)
	return items
}

// uniqueObjects reports objects that share a kind, namespace and name: one
// would overwrite the other when applied. The problem is reported at the
// later spec element, naming the earlier.
func (p *plan) uniqueObjects(items []item) field.ErrorList {
	var errs field.ErrorList
	// items are sorted by rank, namespace and name, so objects of one
	// identity are in one run of equal rank, namespace and name.
	run := 0
	var split map[string]int
	for i := range items {
		it := &items[i]
		if r := &items[run]; r.rank != it.rank || r.namespace != it.namespace || r.name != it.name {
			run = i
		}
		for prev := run; prev < i; prev++ {
			if items[prev].kind == it.kind {
				errs = append(errs, p.sameObject(&items[prev], it))
				break
			}
		}
		if kinds[it.kind].split {
			// Kinds of one name ranked apart are not in one run.
			id := it.kind.String() + " " + it.namespace + "/" + it.name
			if prev, dup := split[id]; dup && items[prev].rank != it.rank {
				errs = append(errs, p.sameObject(&items[prev], it))
			}
			if split == nil {
				split = map[string]int{}
			}
			split[id] = i
		}
	}
	return errs
}

// sameObject reports that two items build one object.
func (p *plan) sameObject(x, y *item) *field.Error {
	id := y.kind.String() + " " + y.namespace + "/" + y.name
	if y.namespace == "" {
		id = y.kind.String() + " " + y.name
	}
	a, b := p.from(x), p.from(y)
	if b.String() < a.String() {
		a, b = b, a
	}
	return field.Invalid(b, field.OmitValueType{}, fmt.Sprintf("builds %s, which %s builds too", id, a))
}

func (p *plan) from(it *item) *field.Path {
	return p.families[it.family].from(it.kind, it.ref)
}

// once drops the repeats of a problem: two objects derived from one field
// (a model's rules are in its mesh and its ingress VirtualService) report
// its problem once.
func once(errs field.ErrorList) field.ErrorList {
	seen := make(map[string]bool, len(errs))
	out := errs[:0]
	for _, fe := range errs {
		if k := fe.Error(); !seen[k] {
			seen[k] = true
			out = append(out, fe)
		}
	}
	return out
}
