package conformance

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TestGatewayAPIEquivalence feeds each example in both dialects to Istio's
// config generator and holds the Gateway API routes to the Istio ones: for
// every host a sidecar of the namespace and the ingress gateway route, the
// same routes in the same order, with the same matchers, weights per
// version and timeouts. Cluster names differ as they must: a subset
// outbound|P|v|m.ns.svc.cluster.local is the version's Service
// outbound|P||m-v.ns.svc.cluster.local.
func TestGatewayAPIEquivalence(t *testing.T) {
	eachDialect(t, ".gateway", func(t *testing.T, ib, gb *Bundle, isc, igw RouteTable, base string) {
		gsc, ggw, err := EnvoyRoutes(t, gb, gb.Namespace(), false)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range sameRoutesBut("sidecar", onServicePorts(ib, isc), gsc, true, retriesDiffer[base]) {
			t.Error(p)
		}
		if igw != nil {
			for _, p := range sameRoutesBut("gateway", igw, unpooled(gb, ggw), false, retriesDiffer[base]) {
				t.Error(p)
			}
		}
	})
}

// eachDialect calls check for each example that has a bundle in a dialect
// (its name ends in suffix, ".gateway" or ".ambient"), with its bundle in
// the Istio dialect and the routes Istio's config generator gives the
// latter's sidecar and gateway (nil without one).
func eachDialect(t *testing.T, suffix string, check func(t *testing.T, ib, db *Bundle, isc, igw RouteTable, base string)) {
	byName := bundlesByName(t)
	compared := 0
	for name, db := range byName {
		base, ok := strings.CutSuffix(name, suffix)
		if !ok {
			continue
		}
		t.Run(base, func(t *testing.T) {
			ib := byName[base]
			isc, igw, err := EnvoyRoutes(t, ib, ib.Namespace(), len(istioObjects(ib, "Gateway")) > 0)
			if err != nil {
				t.Fatal(err)
			}
			check(t, ib, db, isc, igw, base)
			compared++
		})
	}
	if compared == 0 {
		t.Fatalf("no example has a %s golden file", suffix)
	}
}

// TestGatewayAPIEquivalenceCatches is the negative control: a version's
// weight changed, a timeout dropped and a route left out of the Gateway
// API bundle are each reported.
func TestGatewayAPIEquivalenceCatches(t *testing.T) {
	bundles, err := ExampleBundles()
	if err != nil {
		t.Fatal(err)
	}
	var ib, gb *Bundle
	for _, b := range bundles {
		switch b.Name {
		case "llm":
			ib = b
		case "llm.gateway":
			gb = b
		}
	}
	isc, _, err := EnvoyRoutes(t, ib, ib.Namespace(), false)
	if err != nil {
		t.Fatal(err)
	}
	for name, breakIt := range map[string]func(rules []any){
		"weight": func(rules []any) {
			refs, _, _ := unstructured.NestedSlice(rules[0].(map[string]any), "backendRefs")
			refs[0].(map[string]any)["weight"] = int64(80)
			_ = unstructured.SetNestedSlice(rules[0].(map[string]any), refs, "backendRefs")
		},
		"timeout": func(rules []any) { delete(rules[0].(map[string]any), "timeouts") },
	} {
		mutated := &Bundle{Name: gb.Name}
		for _, o := range gb.Objects {
			c := o.DeepCopy()
			if c.GetKind() == "HTTPRoute" && c.GetName() == "chat" {
				rules, _, _ := unstructured.NestedSlice(c.Object, "spec", "rules")
				breakIt(rules)
				_ = unstructured.SetNestedSlice(c.Object, rules, "spec", "rules")
			}
			mutated.Objects = append(mutated.Objects, c)
		}
		gsc, _, err := EnvoyRoutes(t, mutated, mutated.Namespace(), false)
		if err != nil {
			t.Fatal(err)
		}
		if len(sameRoutesBut("sidecar", onServicePorts(ib, isc), gsc, true, retriesDiffer["llm"])) == 0 {
			t.Errorf("a changed %s went unnoticed", name)
		}
	}
	// The mesh route left out: the sidecar's routes are the Service's own.
	dropped := &Bundle{Name: gb.Name}
	for _, o := range gb.Objects {
		if !(o.GetKind() == "HTTPRoute" && o.GetName() == "chat") {
			dropped.Objects = append(dropped.Objects, o)
		}
	}
	gsc, _, err := EnvoyRoutes(t, dropped, dropped.Namespace(), false)
	if err != nil {
		t.Fatal(err)
	}
	if len(sameRoutesBut("sidecar", onServicePorts(ib, isc), gsc, true, retriesDiffer["llm"])) == 0 {
		t.Error("a route left out went unnoticed")
	}
}

var subsetCluster = regexp.MustCompile(`^outbound\|(\d+)\|([^|]+)\|([^.]+)\.(.+)$`)

// versionCluster is the Gateway API cluster of an Istio subset cluster.
func versionCluster(c string) string {
	m := subsetCluster.FindStringSubmatch(c)
	if m == nil {
		return c
	}
	return fmt.Sprintf("outbound|%s||%s-%s.%s", m[1], m[3], m[2], m[4])
}

// retriesDiffer are the examples whose App turns retries off in the Istio
// dialect only: the Gateway API's standard channel cannot say it, so in
// that dialect Istio's default retries apply (scenarios.LLM).
var retriesDiffer = map[string]bool{"llm": true}

// sameRoutesBut compares the routes of every domain the Istio table serves
// (byConfig: within the same route configuration, as a sidecar's are named
// by port; otherwise by domain alone, as a gateway's are named by
// listener): matchers, clusters and weights, timeouts, header changes,
// retries (unless ignoreRetries) and mirrors.
func sameRoutesBut(proxy string, istio, gateway RouteTable, byConfig, ignoreRetries bool) []string {
	var problems []string
	flat := func(t RouteTable) map[string][]Route {
		out := map[string][]Route{}
		for rc, hosts := range t {
			for domain, routes := range hosts {
				key := domain
				if byConfig {
					key = rc + " " + domain
				}
				if len(routes) > 0 {
					out[key] = routes
				}
			}
		}
		return out
	}
	want, got := flat(istio), flat(gateway)
	for k, routes := range want {
		want[k] = inGatewayOrder(routes)
	}
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		wr := want[k]
		if !strings.Contains(k, ".svc.cluster.local") && byConfig {
			continue // the sidecar's routes to egress hosts are not the App's
		}
		gr, ok := got[k]
		if !ok {
			problems = append(problems, fmt.Sprintf("%s %s: no routes in the Gateway API dialect", proxy, k))
			continue
		}
		if len(gr) != len(wr) {
			problems = append(problems, fmt.Sprintf("%s %s: %d routes, want %d:\n  got  %+v\n  want %+v", proxy, k, len(gr), len(wr), gr, wr))
			continue
		}
		for i := range wr {
			w, g := wr[i], gr[i]
			clusters := map[string]uint32{}
			for c, n := range w.Clusters {
				clusters[versionCluster(c)] = n
			}
			if unsegmented(g.Match) != w.Match || fmt.Sprint(g.Clusters) != fmt.Sprint(clusters) || g.Timeout != w.Timeout || g.Headers != w.Headers || g.Retries != w.Retries && !ignoreRetries || fmt.Sprint(g.Mirrors) != fmt.Sprint(mapped(w.Mirrors)) {
				problems = append(problems, fmt.Sprintf("%s %s route %d:\n  got  %+v\n  want %+v (clusters %v)", proxy, k, i, g, w, clusters))
			}
		}
	}
	return problems
}

// inGatewayOrder orders a virtual host's routes of the Istio dialect as
// Istio orders a Gateway API route's (exact paths, then prefixes, then
// regular expressions; longer first; then more headers), stably, the last
// route kept last when it matches everything: mesh refuses a Gateway API
// route whose order differs from the written one for two matches a request
// can meet both (routing's orderErrors), so the orders agree on what they
// route alike.
func inGatewayOrder(routes []Route) []Route {
	out := slices.Clone(routes)
	n := len(out)
	if n > 0 && out[n-1].Match == "prefix=/" {
		n--
	}
	sort.SliceStable(out[:n], func(i, j int) bool { return matchKey(out[i].Match).first(matchKey(out[j].Match)) })
	return out
}

type routeKey struct{ rank, length, headers int }

func (a routeKey) first(b routeKey) bool {
	switch {
	case a.rank != b.rank:
		return a.rank > b.rank
	case a.length != b.length:
		return a.length > b.length
	}
	return a.headers > b.headers
}

// matchKey reads the precedence of a match written by matchText.
func matchKey(match string) routeKey {
	k := routeKey{headers: strings.Count(match, "header[")}
	path, _, _ := strings.Cut(match, " ")
	kind, value, _ := strings.Cut(path, "=")
	switch kind {
	case "path":
		k.rank = 3
	case "prefix", "segments":
		k.rank = 2
		if value != "/" {
			value = strings.TrimSuffix(value, "/")
		}
	case "regex":
		k.rank = 1
	}
	k.length = len(value)
	return k
}

// unsegmented writes a Gateway API prefix of whole segments as the Istio
// dialect's prefix it stands for ("segments=/v1" is "prefix=/v1/"): the
// two differ on the bare "/v1" alone, which the segment prefix also takes
// (README, the Gateway API dialect).
func unsegmented(match string) string {
	if rest, ok := strings.CutPrefix(match, "segments="); ok {
		path, headers, _ := strings.Cut(rest, " ")
		out := "prefix=" + path + "/"
		if headers != "" {
			out += " " + headers
		}
		return out
	}
	return match
}

func mapped(clusters []string) []string {
	out := make([]string, len(clusters))
	for i, c := range clusters {
		out[i] = versionCluster(c)
	}
	return out
}

// onServicePorts keeps, of a sidecar's route table, the hosts of the
// bundle's Services on their own ports: Istio also lists a VirtualService
// that matches no port under route configurations of other services'
// ports (80, where Istio's gateway listens), which no request for the
// host reaches.
func onServicePorts(b *Bundle, t RouteTable) RouteTable {
	served := map[string]bool{}
	for _, o := range b.Objects {
		if o.GetKind() != "Service" {
			continue
		}
		ports, _, _ := unstructured.NestedSlice(o.Object, "spec", "ports")
		host := o.GetName() + "." + o.GetNamespace() + ".svc.cluster.local"
		for _, p := range ports {
			n, _, _ := unstructured.NestedInt64(p.(map[string]any), "port")
			served[fmt.Sprintf("%d %s", n, host)] = true
		}
	}
	out := RouteTable{}
	for rc, hosts := range t {
		for domain, routes := range hosts {
			if !served[rc+" "+strings.TrimSuffix(domain, ".")] {
				continue
			}
			if out[rc] == nil {
				out[rc] = map[string][]Route{}
			}
			out[rc][domain] = routes
		}
	}
	return out
}
