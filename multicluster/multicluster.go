// Package multicluster delivers one App to a fleet of clusters of one Istio
// multi-cluster mesh (multi-primary or primary-remote, one network or
// several): it places
// each model version in the clusters that run it, renders each cluster's
// objects, and checks the fleet as a whole before anything is applied.
//
//	objs, err := multicluster.Build(app, multicluster.Fleet{
//		Clusters: []multicluster.Cluster{
//			{Name: "eu-1", Network: "net-eu", Region: "europe-west1"},
//			{Name: "us-1", Network: "net-us", Region: "us-east1"},
//			{Name: "canary", Network: "net-us", Region: "us-east1"},
//		},
//		Placement: []multicluster.Placement{
//			{Model: "fraud", Version: "v1", Replicas: map[string]int32{"eu-1": 3, "us-1": 3}},
//			{Model: "fraud", Version: "v2", Replicas: map[string]int32{"canary": 1}},
//		},
//	})
//	// objs["eu-1"], objs["us-1"], objs["canary"]: each cluster's, in apply order
//
// Every cluster gets the same names in the same namespaces (Istio's
// namespace sameness): the Namespace, each model's Services, its
// DestinationRule and routes — the routing and traffic policy every
// cluster's callers need, since a client's proxy resolves a subset in its
// own cluster, whatever cluster serves it — and the mesh policy. A
// version's workloads (Deployment, autoscaler, disruption budget,
// InferencePool) go only to the clusters it is placed in, with their
// replica counts; Istio's multi-cluster discovery gives every proxy the
// endpoints of all clusters. A fleet of several networks labels each
// version's pods with their cluster's network (topology.istio.io/network,
// which Istio reads on a pod before the cluster's own, istio-system's
// label that the install sets), and gets, in each cluster, the east-west
// Gateway (istio-system/cross-network-gateway, on the east-west gateway
// pods, port 15443, AUTO_PASSTHROUGH) through which the other networks
// reach its Services.
package multicluster

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"

	networkingapi "istio.io/api/networking/v1"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/mlmesh/mlmesh"
	"github.com/mlmesh/mlmesh/internal/check"
	"github.com/mlmesh/mlmesh/internal/fieldpath"
	"github.com/mlmesh/mlmesh/internal/labels"
	"github.com/mlmesh/mlmesh/mesh"
	"github.com/mlmesh/mlmesh/render"
	"github.com/mlmesh/mlmesh/routing"
	"github.com/mlmesh/mlmesh/serving"
)

// ValidationError reports every problem of a fleet, each with its field
// path: the fleet's ("placement[1].replicas[us-2]") or the App's
// ("models[0].traffic.rules[0].split[1]").
type ValidationError = mlmesh.ValidationError

// Fleet is the clusters of one mesh and where each model version runs.
type Fleet struct {
	// Clusters are the mesh's clusters, names unique. At least one.
	Clusters []Cluster
	// Placement says, per model version, the clusters it runs in. A
	// version placed nowhere runs nowhere (and may take no traffic).
	Placement []Placement
}

// Cluster is one cluster of the mesh.
type Cluster struct {
	// Name names the cluster: Istio's cluster id, and the key of Build's
	// result. A DNS-1123 label. Required.
	Name string
	// Network is the cluster's network (topology.istio.io/network): the
	// clusters of one network reach each other's pods directly, the
	// others through east-west gateways. Required of every cluster when
	// the fleet spans more than one network; empty in all for one.
	Network string
	// Region and Zone are the cluster's locality, which locality failover
	// (routing.LoadBalancer.Failover) names.
	Region, Zone string
	// Primary is Istio's deployment model for the cluster: empty for a
	// primary cluster, with its own control plane that reads its own
	// configuration (multi-primary); or the name of the primary cluster
	// whose control plane runs this remote one (primary-remote). A remote
	// cluster gets no Istio configuration (routes, DestinationRules,
	// policy, gateways: its primary's istiod reads them in the primary),
	// only its Namespace, Services and the workloads placed in it.
	Primary string
}

// Placement places one version of a model.
type Placement struct {
	// Model and Version name them in the App.
	Model, Version string
	// Replicas are the version's replicas in each cluster it runs in, by
	// cluster name; 0 keeps the App's own count (an autoscaled version).
	Replicas map[string]int32
}

// NetworkLabel is the label naming a pod's network: Istio reads it on a
// pod first, then on the cluster's istio-system namespace.
const NetworkLabel = "topology.istio.io/network"

// EastWestGateway is the name of the Gateway through which the other
// networks of a multi-network fleet reach a cluster's Services.
const EastWestGateway = "cross-network-gateway"

// Build checks the App and the fleet as a whole and returns each cluster's
// objects, in apply order, by cluster name. Nothing is returned if any
// check fails.
func Build(app mesh.App, f Fleet) (map[string][]render.Object, error) {
	if err := f.Validate(app); err != nil {
		return nil, err
	}
	out := make(map[string][]render.Object, len(f.Clusters))
	multiNetwork := len(f.networks()) > 1
	idx := f.index()
	for _, c := range f.Clusters {
		objs, err := mesh.Build(clusterApp(app, c, idx))
		if err != nil {
			return nil, fmt.Errorf("multicluster: cluster %s: %w", c.Name, err)
		}
		objs = idx.only(objs, c)
		if multiNetwork {
			onNetwork(objs, c.Network)
			objs = append(objs, eastWestGateway())
			render.Sort(objs)
		}
		if c.Primary != "" {
			objs = slices.DeleteFunc(objs, isMeshConfig)
		}
		out[c.Name] = objs
	}
	return out, nil
}

// onNetwork labels the pods of the Deployments with their network.
func onNetwork(objs []render.Object, network string) {
	for _, o := range objs {
		if d, ok := o.(*appsv1.Deployment); ok {
			if d.Spec.Template.Labels == nil {
				d.Spec.Template.Labels = map[string]string{}
			}
			d.Spec.Template.Labels[NetworkLabel] = network
		}
	}
}

// clusterApp is the App as cluster c runs it: each version placed in c
// with its replicas there.
func clusterApp(app mesh.App, c Cluster, idx placed) mesh.App {
	app.Models = slices.Clone(app.Models)
	for i := range app.Models {
		m := &app.Models[i]
		m.Versions = slices.Clone(m.Versions)
		for k := range m.Versions {
			v := &m.Versions[k]
			if n := idx.replicas(m.Name, v.Name, c.Name); n > 0 {
				v.Replicas = &n
			}
		}
	}
	return app
}

// placed is the placement by model and version: the replicas by cluster.
type placed map[[2]string]map[string]int32

func (f Fleet) index() placed {
	out := make(placed, len(f.Placement))
	for _, p := range f.Placement {
		if _, dup := out[[2]string{p.Model, p.Version}]; !dup { // the first (a second is refused)
			out[[2]string{p.Model, p.Version}] = p.Replicas
		}
	}
	return out
}

// replicas is a version's replicas in a cluster: 0 when not placed there,
// or placed with the App's own count.
func (x placed) replicas(model, version, cluster string) int32 {
	return x[[2]string{model, version}][cluster]
}

// runs reports whether a version is placed in a cluster.
func (x placed) runs(model, version, cluster string) bool {
	_, ok := x[[2]string{model, version}][cluster]
	return ok
}

// workloadKinds are the kinds of a version's workload, which go only to
// the clusters it runs in.
var workloadKinds = map[string]bool{"Deployment": true, "HorizontalPodAutoscaler": true, "PodDisruptionBudget": true,
	"InferencePool": true, "InferenceModelRewrite": true}

// only drops from a cluster's objects the workloads of the versions not
// placed in it.
func (x placed) only(objs []render.Object, c Cluster) []render.Object {
	return slices.DeleteFunc(objs, func(o render.Object) bool {
		l := o.GetLabels()
		return workloadKinds[o.GetObjectKind().GroupVersionKind().Kind] && l[labels.Version] != "" && !x.runs(l[labels.App], l[labels.Version], c.Name)
	})
}

// meshConfigGroups are the API groups of the configuration Istio's control
// plane reads from its own cluster (its config cluster) alone.
var meshConfigGroups = map[string]bool{"networking.istio.io": true, "security.istio.io": true, "telemetry.istio.io": true,
	"extensions.istio.io": true, "gateway.networking.k8s.io": true}

// isMeshConfig reports whether o is configuration a remote cluster's
// primary reads in the primary.
func isMeshConfig(o render.Object) bool {
	return meshConfigGroups[o.GetObjectKind().GroupVersionKind().Group]
}

// eastWestGateway exposes a cluster's Services to the other networks, as
// Istio's multi-network install does.
func eastWestGateway() *networkingv1.Gateway {
	g := &networkingv1.Gateway{
		TypeMeta: metav1.TypeMeta{APIVersion: "networking.istio.io/v1", Kind: "Gateway"},
		ObjectMeta: metav1.ObjectMeta{Name: EastWestGateway, Namespace: "istio-system",
			Labels: map[string]string{labels.ManagedBy: labels.Manager}},
	}
	g.Spec.Selector = map[string]string{"istio": "eastwestgateway"}
	g.Spec.Servers = []*networkingapi.Server{{
		Port:  &networkingapi.Port{Number: 15443, Name: "tls", Protocol: "TLS"},
		Hosts: []string{"*.local"},
		Tls:   &networkingapi.ServerTLSSettings{Mode: networkingapi.ServerTLSSettings_AUTO_PASSTHROUGH},
	}}
	return g
}

// networks are the fleet's networks, sorted.
func (f Fleet) networks() []string {
	set := map[string]bool{}
	for _, c := range f.Clusters {
		if c.Network != "" {
			set[c.Network] = true
		}
	}
	out := slices.Collect(maps.Keys(set))
	sort.Strings(out)
	return out
}

// Validate checks the App and the fleet as a whole: the App itself; the
// clusters (names, networks, regions); each placement's model, version,
// clusters and replicas; and what needs them both: every version that
// routes send requests or mirrors to runs in some cluster, and every
// cluster has a path to it (across networks only in Istio's mutual TLS);
// a model that keeps traffic in its region (locality failover) sends no
// region's share to a version that runs only elsewhere unless it fails
// that region over to one that runs it; and every region a model fails
// over to has a cluster that runs it.
func (f Fleet) Validate(app mesh.App) error {
	var errs field.ErrorList
	if err := app.Validate(); err != nil {
		return err
	}
	errs = append(errs, f.clusterErrors()...)
	errs = append(errs, f.placementErrors(app)...)
	if len(errs) == 0 {
		idx := f.index()
		errs = append(errs, f.routedErrors(app, idx)...)
		errs = append(errs, f.failoverErrors(app, idx)...)
	}
	if len(errs) == 0 {
		return nil
	}
	return &ValidationError{Spec: "multicluster.Fleet", Errors: errs}
}

func (f Fleet) clusterErrors() field.ErrorList {
	var errs field.ErrorList
	cp := field.NewPath("clusters")
	if len(f.Clusters) == 0 {
		return field.ErrorList{field.Required(cp, "the mesh's clusters")}
	}
	seen := map[string]bool{}
	networks := f.networks()
	for i, c := range f.Clusters {
		errs = append(errs, check.Name(fieldpath.New("clusters").Index(i).Child("name"), c.Name)...)
		if seen[c.Name] {
			errs = append(errs, field.Duplicate(cp.Index(i).Child("name"), c.Name))
		}
		seen[c.Name] = true
		if c.Network == "" && len(networks) > 0 {
			errs = append(errs, field.Required(cp.Index(i).Child("network"), fmt.Sprintf("the fleet spans networks (%v): every cluster names its own", networks)))
		}
		if c.Primary == "" {
			continue
		}
		switch p := slices.IndexFunc(f.Clusters, func(x Cluster) bool { return x.Name == c.Primary }); {
		case p < 0:
			fe := field.NotFound(cp.Index(i).Child("primary"), c.Primary)
			fe.Detail = "a primary cluster of the fleet"
			errs = append(errs, fe)
		case f.Clusters[p].Primary != "":
			errs = append(errs, field.Invalid(cp.Index(i).Child("primary"), c.Primary, fmt.Sprintf("a remote cluster itself (its primary is %s): name a primary cluster", f.Clusters[p].Primary)))
		}
	}
	return errs
}

// placementErrors checks each placement against the App and the clusters.
func (f Fleet) placementErrors(app mesh.App) field.ErrorList {
	var errs field.ErrorList
	clusters := map[string]bool{}
	for _, c := range f.Clusters {
		clusters[c.Name] = true
	}
	seen := map[[2]string]int{}
	for i, p := range f.Placement {
		pp := field.NewPath("placement").Index(i)
		mi := slices.IndexFunc(app.Models, func(m mesh.Model) bool { return m.Name == p.Model })
		switch {
		case mi < 0:
			errs = append(errs, field.NotFound(pp.Child("model"), p.Model))
		case !app.Models[mi].HasVersion(p.Version):
			errs = append(errs, field.NotFound(pp.Child("version"), p.Version))
		}
		if prev, dup := seen[[2]string{p.Model, p.Version}]; dup {
			errs = append(errs, field.Invalid(pp, p.Model+"/"+p.Version, fmt.Sprintf("placed already by placement[%d]: one placement a version", prev)))
		}
		seen[[2]string{p.Model, p.Version}] = i
		if len(p.Replicas) == 0 {
			errs = append(errs, field.Required(pp.Child("replicas"), "the clusters the version runs in"))
		}
		autoscaled := false
		if mi >= 0 {
			if vi := slices.IndexFunc(app.Models[mi].Versions, func(v serving.Version) bool { return v.Name == p.Version }); vi >= 0 {
				v := app.Models[mi].Versions[vi]
				autoscaled = v.Autoscaled || v.Autoscaling != nil
			}
		}
		for _, c := range slices.Sorted(maps.Keys(p.Replicas)) {
			switch n := p.Replicas[c]; {
			case !clusters[c]:
				fe := field.NotFound(pp.Child("replicas").Key(c), c)
				fe.Detail = "a cluster of the fleet"
				errs = append(errs, fe)
			case n < 0:
				errs = append(errs, field.Invalid(pp.Child("replicas").Key(c), n, "0 (the App's own count) or more"))
			case n > 0 && autoscaled:
				errs = append(errs, field.Invalid(pp.Child("replicas").Key(c), n, "the version is autoscaled: give 0, and its autoscaler sets the count"))
			}
		}
	}
	return errs
}

// routedVersion is a version of a model that a route sends requests or
// mirrors to, at the field that says so.
type routedVersion struct {
	path    *field.Path
	version string
	mirror  bool
}

// routedVersions are the versions of the model that its routes send
// requests or mirrors to (not another host's, not a weight of 0).
func routedVersions(m mesh.Model, rp *field.Path) []routedVersion {
	var out []routedVersion
	for j, r := range m.Traffic.Rules {
		for k, d := range r.Split {
			v := d.Subset
			if len(r.Split) > 1 && d.Weight == 0 || d.Host != "" && d.Host != m.Name {
				continue // no requests, or another host's
			}
			if v == "" && len(m.Versions) == 1 {
				v = m.Versions[0].Name
			}
			if v != "" {
				out = append(out, routedVersion{rp.Index(j).Child("split").Index(k), v, false})
			}
		}
		for k, mr := range r.Mirror {
			if mr.Subset != "" && (mr.Host == "" || mr.Host == m.Name) {
				out = append(out, routedVersion{rp.Index(j).Child("mirror").Index(k), mr.Subset, true})
			}
		}
	}
	return out
}

// routedErrors reports, for each version that a route sends requests or
// mirrors to:
//   - no cluster runs it: in every cluster those requests would fail;
//   - a network has clusters (which all hold the routes) but none runs it,
//     and the model's clients do not use Istio's mutual TLS (its traffic
//     policy's TLS is DISABLE, SIMPLE or MUTUAL): the east-west gateways
//     pass other networks' requests on by the server name of Istio's
//     mutual TLS alone (AUTO_PASSTHROUGH), so that network's requests have
//     no path to its pods;
//   - the model fails over by locality (routing.LoadBalancer.Failover) and
//     a region's clusters run the version in none of them, nor does the
//     model fail that region over to one that does: the model keeps its
//     traffic in the region but for the failovers it lists, and the split
//     would send that region's requests elsewhere without one.
func (f Fleet) routedErrors(app mesh.App, idx placed) field.ErrorList {
	var errs field.ErrorList
	for i, m := range app.Models {
		where := func(v string, in func(Cluster) bool) bool {
			return slices.ContainsFunc(f.Clusters, func(c Cluster) bool { return in(c) && idx.runs(m.Name, v, c.Name) })
		}
		for _, rv := range routedVersions(m, field.NewPath("models").Index(i).Child("traffic", "rules")) {
			if !where(rv.version, func(Cluster) bool { return true }) {
				errs = append(errs, field.Invalid(rv.path, rv.version, "the version runs in no cluster of the fleet (placement), so its requests would fail in every cluster"))
				continue
			}
			if tls := clientTLS(m); tls != "" && tls != routing.TLSIstioMutual && len(f.networks()) > 1 {
				for _, n := range f.networks() {
					if !where(rv.version, func(c Cluster) bool { return c.Network == n }) {
						errs = append(errs, field.Invalid(rv.path, rv.version, fmt.Sprintf("no cluster of network %s runs the version, and the model's clients use TLS %s (models[%d].traffic.policy.tls): "+
							"requests cross networks only in Istio's mutual TLS, through the east-west gateways, so network %s's have no path to its pods", n, tls, i, n)))
					}
				}
			}
			if rv.mirror {
				continue
			}
			for _, region := range f.regionsWithout(m, rv.version, idx) {
				errs = append(errs, field.Invalid(rv.path, rv.version, fmt.Sprintf("no cluster of region %s runs the version, and the model fails %s over to no region that does "+
					"(models[%d].traffic.policy.loadBalancer.failover): place it in %s, or fail %s over to a region that runs it", region, region, i, region, region)))
			}
		}
	}
	return errs
}

// clientTLS is the TLS mode of the model's clients, "" for Istio's auto
// mutual TLS.
func clientTLS(m mesh.Model) routing.TLSMode {
	if m.Traffic.Policy == nil {
		return ""
	}
	return m.Traffic.Policy.TLS
}

// regionsWithout are the regions whose clusters run the version in none of
// them while the model keeps traffic in its region (locality failover) and
// fails none of them over to a region that runs it.
func (f Fleet) regionsWithout(m mesh.Model, version string, idx placed) []string {
	p := m.Traffic.Policy
	if p == nil || p.LoadBalancer == nil || len(p.LoadBalancer.Failover) == 0 {
		return nil
	}
	runsIn := func(region string) bool {
		return slices.ContainsFunc(f.Clusters, func(c Cluster) bool { return c.Region == region && idx.runs(m.Name, version, c.Name) })
	}
	var out []string
	for _, c := range f.Clusters {
		if c.Region == "" || slices.Contains(out, c.Region) || runsIn(c.Region) {
			continue
		}
		if !slices.ContainsFunc(p.LoadBalancer.Failover, func(x routing.LocalityFailover) bool { return x.From == c.Region && runsIn(x.To) }) {
			out = append(out, c.Region)
		}
	}
	return out
}

// failoverErrors reports a region a model fails over to where no cluster
// runs the model: its requests would fail over to nothing.
func (f Fleet) failoverErrors(app mesh.App, idx placed) field.ErrorList {
	var errs field.ErrorList
	for i, m := range app.Models {
		var fo []routing.LocalityFailover
		if p := m.Traffic.Policy; p != nil && p.LoadBalancer != nil {
			fo = p.LoadBalancer.Failover
		}
		for k, x := range fo {
			serves := slices.ContainsFunc(f.Clusters, func(c Cluster) bool {
				return c.Region == x.To && slices.ContainsFunc(m.Versions, func(v serving.Version) bool { return idx.runs(m.Name, v.Name, c.Name) })
			})
			if !serves {
				errs = append(errs, field.Invalid(field.NewPath("models").Index(i).Child("traffic", "policy", "loadBalancer", "failover").Index(k).Child("to"), x.To,
					"no cluster of the region runs the model: its requests would fail over to no pod"))
			}
		}
	}
	return errs
}

// WriteDir writes each cluster's objects into its own directory under dir,
// named by the cluster, one file per object (render.WriteDir), for a
// GitOps tool to sync each cluster from its directory. It returns the
// directories, in cluster order. If any cluster's fails to be written,
// what this call wrote is removed.
func WriteDir(dir string, objs map[string][]render.Object) ([]string, error) {
	var dirs, files []string
	for _, c := range slices.Sorted(maps.Keys(objs)) {
		d := filepath.Join(dir, c)
		written, err := render.WriteDir(d, objs[c])
		if err != nil {
			for _, f := range files {
				os.Remove(f)
			}
			for _, w := range append(dirs, d) {
				os.Remove(w)
			}
			return nil, fmt.Errorf("multicluster: writing cluster %s: %w", c, err)
		}
		dirs, files = append(dirs, d), append(files, written...)
	}
	return dirs, nil
}
