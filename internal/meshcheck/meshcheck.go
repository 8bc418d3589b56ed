// Package meshcheck checks a set of live objects for routes that would
// fail: a VirtualService destination whose host no Service or ServiceEntry
// defines, whose subset no DestinationRule for that host defines, or whose
// subset selects no Deployment's pods. Tests use it after every step of an
// apply or transition.
package meshcheck

import (
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Dangling returns one line per route destination that would fail.
func Dangling(objs []*unstructured.Unstructured) []string { return dangling(objs, nil) }

// dangling is Dangling, passing over the destinations whose host foreign
// reports true of.
func dangling(objs []*unstructured.Unstructured, foreign func(host string) bool) []string {
	type svc struct {
		selector map[string]string
	}
	services := map[string]svc{}
	external := map[string]bool{}
	subsets := map[string]map[string]map[string]string{} // host -> subset -> labels
	var pods []map[string]string
	var routes []*unstructured.Unstructured
	for _, o := range objs {
		ns := o.GetNamespace()
		switch o.GetKind() {
		case "Service":
			sel, _, _ := unstructured.NestedStringMap(o.Object, "spec", "selector")
			services[o.GetName()+"."+ns+".svc.cluster.local"] = svc{sel}
		case "ServiceEntry":
			hosts, _, _ := unstructured.NestedStringSlice(o.Object, "spec", "hosts")
			for _, h := range hosts {
				external[h] = true
			}
		case "DestinationRule":
			host, _, _ := unstructured.NestedString(o.Object, "spec", "host")
			list, _, _ := unstructured.NestedSlice(o.Object, "spec", "subsets")
			if subsets[host] == nil {
				subsets[host] = map[string]map[string]string{}
			}
			for _, s := range list {
				m, _ := s.(map[string]any)
				labels, _, _ := unstructured.NestedStringMap(m, "labels")
				subsets[host][fmt.Sprint(m["name"])] = labels
			}
		case "Deployment":
			l, _, _ := unstructured.NestedStringMap(o.Object, "spec", "template", "metadata", "labels")
			pods = append(pods, l)
		case "VirtualService":
			routes = append(routes, o)
		}
	}
	selects := func(sel, labels map[string]string) bool {
		for k, v := range sel {
			if labels[k] != v {
				return false
			}
		}
		return true
	}
	var out []string
	for _, vs := range routes {
		http, _, _ := unstructured.NestedSlice(vs.Object, "spec", "http")
		for i, r := range http {
			rm, _ := r.(map[string]any)
			dests, _, _ := unstructured.NestedSlice(rm, "route")
			mirrors, _, _ := unstructured.NestedSlice(rm, "mirrors")
			for _, d := range append(dests, mirrors...) {
				dm, _ := d.(map[string]any)
				host, _, _ := unstructured.NestedString(dm, "destination", "host")
				subset, _, _ := unstructured.NestedString(dm, "destination", "subset")
				if foreign != nil && foreign(host) {
					continue
				}
				where := fmt.Sprintf("VirtualService %s/%s http[%d] -> %s", vs.GetNamespace(), vs.GetName(), i, host)
				s, isSvc := services[host]
				if !isSvc && !external[host] {
					out = append(out, where+": no Service or ServiceEntry for the host")
					continue
				}
				if subset == "" {
					continue
				}
				labels, ok := subsets[host][subset]
				if !ok {
					out = append(out, where+": subset "+subset+" is in no DestinationRule")
					continue
				}
				found := false
				for _, p := range pods {
					if selects(s.selector, p) && selects(labels, p) {
						found = true
					}
				}
				if !found {
					out = append(out, where+": subset "+subset+" selects no Deployment's pods")
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// Describe lists the objects as "Kind ns/name", for failure messages.
func Describe(objs []*unstructured.Unstructured) string {
	var names []string
	for _, o := range objs {
		names = append(names, o.GetKind()+" "+o.GetNamespace()+"/"+o.GetName())
	}
	return strings.Join(names, ", ")
}

// DanglingAcross checks the clusters of one multi-cluster mesh as their
// proxies see it: each cluster's own routes, Services and subsets, with
// every cluster's Deployments' pods (which multi-cluster discovery gives
// every proxy). It returns one line per route destination that would
// fail, prefixed with its cluster, sorted.
func DanglingAcross(clusters map[string][]*unstructured.Unstructured) []string {
	return danglingAcross(clusters, nil)
}

// DanglingAcrossOwn is DanglingAcross for the objects of one App: the
// destinations whose host no cluster's objects define (another App's
// Service, say) are passed over, not reported.
func DanglingAcrossOwn(clusters map[string][]*unstructured.Unstructured) []string {
	defined := map[string]bool{}
	for _, objs := range clusters {
		for _, o := range objs {
			switch o.GetKind() {
			case "Service":
				defined[o.GetName()+"."+o.GetNamespace()+".svc.cluster.local"] = true
			case "ServiceEntry":
				hosts, _, _ := unstructured.NestedStringSlice(o.Object, "spec", "hosts")
				for _, h := range hosts {
					defined[h] = true
				}
			}
		}
	}
	return danglingAcross(clusters, func(host string) bool { return !defined[host] })
}

func danglingAcross(clusters map[string][]*unstructured.Unstructured, foreign func(string) bool) []string {
	var pods []*unstructured.Unstructured
	for _, objs := range clusters {
		for _, o := range objs {
			if o.GetKind() == "Deployment" {
				pods = append(pods, o)
			}
		}
	}
	var out []string
	for c, objs := range clusters {
		var own []*unstructured.Unstructured
		for _, o := range objs {
			if o.GetKind() != "Deployment" {
				own = append(own, o)
			}
		}
		for _, d := range dangling(append(own, pods...), foreign) {
			out = append(out, c+": "+d)
		}
	}
	sort.Strings(out)
	return out
}
