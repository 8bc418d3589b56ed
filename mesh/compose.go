package mesh

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/mlmesh/mlmesh/internal/fielderr"
	"github.com/mlmesh/mlmesh/internal/order"
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
//	fronts.go      front VirtualServices                 App.Routes
//	identity.go    a model's ServiceAccount              Model.Identity
//	access.go      a model's AuthorizationPolicies and   Model.Access,
//	               RequestAuthentication, default deny   Namespace.DefaultDeny
//	tokens.go      a gateway's RequestAuthentication     App.GatewayJWT,
//	               and token requirement                 Expose.RequireJWT
//	scoping.go     a model's Sidecar                     Namespace.ScopeSidecars
//
// The composer (this file) knows no family: it derives each in turn, checks
// each, collects their objects in apply order and builds them one by one.
//
// Adding a family (an AuthorizationPolicy per model, say) is a new file that
// declares its kinds with newKind and implements family, and one line in
// newPlan that lists it. It reads what earlier families derived through the
// plan (p.workloads for models, p.gateways for gateways). A kind mlmesh has
// not built before also needs its place in internal/order (its rank, and
// the Built list that apply.Managed prunes from): TestKindsAreKnown fails
// until it has them.
type family interface {
	// derive validates the family's part of the App and derives the specs
	// of its objects. Families derive in the order newPlan lists them, so a
	// family may use what those before it derived; it may also bind specs
	// of an earlier family (exposure binds a model's routes to a gateway).
	derive(p *plan) field.ErrorList
	// check makes the checks that need every family derived: a model's
	// routes are checked once exposure has bound them, say.
	check(p *plan) field.ErrorList
	// objects lists the family's objects, each with the indices that build
	// and from will be given back in the item.
	objects(p *plan, add adder)
	// build builds the object of one of the family's items. It is called
	// only when derive and check reported nothing, and then fails only on
	// a defect of mlmesh's own.
	build(p *plan, it *item) (render.Object, error)
	// from is the spec element an item derives from, for errors that name
	// the object (two objects of one name).
	from(p *plan, it *item) *field.Path
}

// plan is an App with its defaults applied and every family derived and
// checked. Objects are built from it lazily, in apply order, so that a large
// App can be rendered without holding all of its objects.
type plan struct {
	app App
	ns  string

	namespace namespaceFamily
	gateways  gatewayFamily
	egress    egressFamily
	workloads workloadFamily
	routes    routeFamily
	exposure  exposureFamily
	fronts    frontFamily
	identity  identityFamily
	access    accessFamily
	tokens    tokenFamily
	scoping   scopingFamily
	inference inferenceFamily

	families []family
}

func newPlan(a App) *plan {
	p := &plan{app: a, ns: a.Namespace.Name}
	// The order in which families derive and check. It is not the apply
	// order, which is by kind (newKind).
	p.families = []family{
		&p.namespace,
		&p.gateways,
		&p.egress,
		&p.workloads,
		&p.routes, // after workloads and egress: destinations name them
		&p.exposure,
		&p.fronts,
		&p.inference, // after exposure and fronts: it checks that a gateway routes to the model
		&p.identity,
		&p.access, // after exposure and fronts: it checks the gateways that route to a model
		&p.tokens,
		&p.scoping,
	}
	return p
}

// kind is a kind of object a family builds, registered with newKind.
type kind uint8

type kindInfo struct {
	name  string
	rank  uint16 // in render's apply order
	split bool   // one of several kinds of one name, ranked apart
}

var kinds []kindInfo

// newKind registers a kind of object that a family builds, with its rank in
// render's apply order.
func newKind(group, name string) kind {
	kinds = append(kinds, kindInfo{name: name, rank: uint16(order.Rank(schema.GroupKind{Group: group, Kind: name}))})
	return kind(len(kinds) - 1)
}

// newSplitKind registers objects of a kind that render ranks by their
// content, here rank: AuthorizationPolicies that deny go after those that
// allow (render.Sort). Each of the kinds of one name is registered with it.
func newSplitKind(group, name string, rank int) kind {
	kinds = append(kinds, kindInfo{name: name, rank: uint16(rank), split: true})
	return kind(len(kinds) - 1)
}

func (k kind) String() string { return kinds[k].name }

// item is one object to build: its identity, the family that builds it, and
// two indices whose meaning is the family's (a model and a version, say).
type item struct {
	namespace string
	name      string
	i, j      int32
	seq       int32 // order of listing, the last sort key
	rank      uint16
	kind      kind
	family    uint8 // index in plan.families
}

// adder lists one object of a family; i and j come back in the item.
type adder func(k kind, namespace, name string, i, j int)

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

// Each validates the App like Build, then builds its objects one at a time
// in apply order and passes each to yield, without holding them: the
// objects of a large App need never all be in memory. It stops at yield's
// first error and returns it.
func Each(a App, yield func(render.Object) error) error {
	return each(a, yield, false)
}

// Render validates the App and writes its canonical YAML stream to w, the
// same bytes as render.WriteYAML(w, Build(a)), building and encoding one
// object at a time. Nothing is written if the App is invalid.
func Render(w io.Writer, a App) error {
	enc := render.NewEncoder(w)
	return each(a, enc.Encode, true) // Encode is done with each object when it returns
}

// each is Each; with reuse, families may build each object into the storage
// of the one before, for a yield that is done with an object when it returns.
func each(a App, yield func(render.Object) error, reuse bool) error {
	p, items, err := a.plan()
	if err != nil {
		return err
	}
	p.workloads.reuse = reuse
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

// build builds one item. The App was validated whole before, so a failure
// is a defect of mlmesh's: it is reported as one, naming the object,
// rather than written half.
func (p *plan) build(it *item) (render.Object, error) {
	o, err := p.families[it.family].build(p, it)
	if err != nil {
		return nil, fmt.Errorf("mesh: building %s %s/%s of a valid App failed (a defect of mlmesh's: please report it): %w", it.kind, it.namespace, it.name, err)
	}
	return o, nil
}

// plan derives and checks every family of the App and lists its objects in
// apply order.
func (a App) plan() (*plan, []item, error) {
	p := newPlan(a)
	var errs field.ErrorList
	for _, f := range p.families {
		errs = append(errs, f.derive(p)...)
	}
	for _, f := range p.families {
		errs = append(errs, f.check(p)...)
	}
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
	items := make([]item, 0, 2+len(p.app.Egress)+5*len(p.app.Models)+len(p.app.Routes)+len(p.app.Gateways))
	for fi, f := range p.families {
		f.objects(p, func(k kind, namespace, name string, i, j int) {
			items = append(items, item{namespace: namespace, name: name, i: int32(i), j: int32(j),
				seq: int32(len(items)), rank: kinds[k].rank, kind: k, family: uint8(fi)})
		})
	}
	// seq breaks ties (two objects of one name, reported by uniqueObjects),
	// so the faster unstable sort gives a stable sort's order.
	slices.SortFunc(items, func(x, y item) int {
		if x.rank != y.rank {
			return cmp.Compare(x.rank, y.rank)
		}
		if c := strings.Compare(x.namespace, y.namespace); c != 0 {
			return c
		}
		if c := strings.Compare(x.name, y.name); c != 0 {
			return c
		}
		return cmp.Compare(x.seq, y.seq)
	})
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
	return p.families[it.family].from(p, it)
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
