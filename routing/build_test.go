package routing

import (
	"math/rand"
	"reflect"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
)

// TestDestinationRuleIntoEqualsFresh: a DestinationRule built into the
// storage of another Spec's is the one built fresh, whatever was there
// before: more or fewer subsets, subsets with and without labels of their
// own, a traffic policy or none, labels and exportTo or none.
func TestDestinationRuleIntoEqualsFresh(t *testing.T) {
	specs := []Spec{
		{Name: "a", Namespace: "ml", Host: "a.ml.svc.cluster.local", Subsets: []Subset{{Name: "v1"}, {Name: "v2"}},
			Policy: &TrafficPolicy{OutlierDetection: &OutlierDetection{Consecutive5xxErrors: 5, Interval: time.Second, BaseEjectionTime: time.Minute}}},
		{Name: "b", Host: "b.default.svc.cluster.local", Labels: map[string]string{"team": "ml"}, ExportTo: []string{"."},
			Subsets: []Subset{{Name: "gpu", Labels: map[string]string{"accel": "gpu", "version": "gpu"}}}},
		{Name: "c", Namespace: "ml", Host: "c.ml.svc.cluster.local", Subsets: []Subset{{Name: "v1"}, {Name: "v2", Labels: map[string]string{"track": "canary"}}, {Name: "v3"}},
			Policy: &TrafficPolicy{TLS: TLSIstioMutual}},
		{Name: "d", Namespace: "ml", Host: "d.ml.svc.cluster.local"},
		{Name: "e", Namespace: "ml", Host: "e.ml.svc.cluster.local", Subsets: []Subset{{Name: "v1"}},
			Policy: &TrafficPolicy{TLS: TLSSimple, SNI: "e.example.com", CACertificates: "/etc/certs/ca.pem"}},
	}
	var checked []Checked
	for i := range specs {
		specs[i].Rules = []Rule{{Split: []Destination{{Host: specs[i].Host}}}}
		c, err := Check(&specs[i])
		if err != nil {
			t.Fatalf("%s: %v", specs[i].Name, err)
		}
		checked = append(checked, c)
	}
	r := rand.New(rand.NewSource(1))
	var dr networkingv1.DestinationRule
	for n := 0; n < 200; n++ {
		i := r.Intn(len(checked))
		checked[i].DestinationRule(&dr)
		fresh := checked[i].DestinationRule(nil)
		if !reflect.DeepEqual(dr.TypeMeta, fresh.TypeMeta) || !reflect.DeepEqual(dr.ObjectMeta, fresh.ObjectMeta) || !proto.Equal(&dr.Spec, &fresh.Spec) {
			t.Fatalf("build %d (%s): a DestinationRule built into another differs from a fresh one:\n%v %v\nwant\n%v %v", n, specs[i].Name, dr.ObjectMeta, &dr.Spec, fresh.ObjectMeta, &fresh.Spec)
		}
	}
	into := testing.AllocsPerRun(50, func() { checked[2].DestinationRule(&dr) })
	fresh := testing.AllocsPerRun(50, func() { checked[2].DestinationRule(nil) })
	if into >= fresh {
		t.Errorf("built into another it allocates %.0f times, fresh %.0f", into, fresh)
	}
	t.Logf("allocations: into %.0f, fresh %.0f", into, fresh)
}

// TestVirtualServiceIntoEqualsFresh: a VirtualService built into the
// storage of another Spec's is the one built fresh, whatever was there
// before: more or fewer rules and ports, matches with and without headers
// or a port, splits of one or several destinations, with or without a
// port of their own, mirrors, retries, faults, header changes, gateways.
func TestVirtualServiceIntoEqualsFresh(t *testing.T) {
	exact, prefix := Exact("v2"), StringMatch{Kind: MatchPrefix, Value: "/v1/"}
	specs := []Spec{
		{Name: "a", Namespace: "ml", Host: "a.ml.svc.cluster.local", Ports: []uint32{8501}, Subsets: []Subset{{Name: "v1"}, {Name: "v2"}},
			Rules: []Rule{
				{Match: []Match{{Headers: map[string]StringMatch{"x-model-version": exact}}}, Split: []Destination{{Subset: "v2"}}},
				{Split: []Destination{{Subset: "v1", Weight: 90}, {Subset: "v2", Weight: 10}}},
			}},
		{Name: "b", Host: "b.default.svc.cluster.local", Hosts: []string{"b.example.com"}, Gateways: []string{"ml/gw"}, Labels: map[string]string{"team": "ml"},
			Subsets: []Subset{{Name: "v1"}},
			Rules: []Rule{{Name: "all", Match: []Match{{URI: &prefix, Port: 80}}, Split: []Destination{{Subset: "v1", Port: 9000}},
				Mirror: []Mirror{{Subset: "v1", Percent: 5}}, Timeout: time.Second, Retries: &Retries{Attempts: 2, PerTryTimeout: 100 * time.Millisecond, RetryOn: []string{"5xx", "reset"}},
				Headers: &HeaderChanges{Request: HeaderOps{Set: map[string]string{"x-a": "1"}}}}}},
		{Name: "c", Namespace: "ml", Host: "c.ml.svc.cluster.local", Ports: []uint32{8500, 8501}, GRPCPorts: []uint32{8500}, Subsets: []Subset{{Name: "v1"}, {Name: "v2"}, {Name: "v3"}},
			Rules: []Rule{
				{Match: []Match{{Headers: map[string]StringMatch{"x-a": exact, "x-b": prefix}}, {Name: "second", URI: &prefix}}, Split: []Destination{{Subset: "v3"}},
					Fault: &Fault{Abort: &Abort{Percent: 10, HTTPStatus: 503}}},
				{Split: []Destination{{Subset: "v1", Weight: 50}, {Subset: "v2", Weight: 30}, {Subset: "v3", Weight: 20}}},
			}},
		{Name: "d", Namespace: "ml", Host: "d.ml.svc.cluster.local", ExportTo: []string{"."}, Rules: []Rule{{Split: []Destination{{}}}}},
		{Name: "e", Namespace: "ml", Host: "e.ml.svc.cluster.local", Ports: []uint32{8080}, MatchPorts: true, Subsets: []Subset{{Name: "v1"}},
			Rules: []Rule{{Split: []Destination{{Subset: "v1"}}, Fault: &Fault{Delay: &Delay{Percent: 1, Fixed: time.Second}}}}},
	}
	var checked []Checked
	for i := range specs {
		c, err := Check(&specs[i])
		if err != nil {
			t.Fatalf("%s: %v", specs[i].Name, err)
		}
		checked = append(checked, c)
	}
	r := rand.New(rand.NewSource(1))
	var vs networkingv1.VirtualService
	for n := 0; n < 300; n++ {
		i := r.Intn(len(checked))
		checked[i].VirtualService(&vs)
		fresh := checked[i].VirtualService(nil)
		if !reflect.DeepEqual(vs.TypeMeta, fresh.TypeMeta) || !reflect.DeepEqual(vs.ObjectMeta, fresh.ObjectMeta) || !proto.Equal(&vs.Spec, &fresh.Spec) {
			t.Fatalf("build %d (%s): a VirtualService built into another differs from a fresh one:\n%v %v\nwant\n%v %v", n, specs[i].Name, vs.ObjectMeta, &vs.Spec, fresh.ObjectMeta, &fresh.Spec)
		}
	}
	into := testing.AllocsPerRun(50, func() { checked[0].VirtualService(&vs) })
	fresh := testing.AllocsPerRun(50, func() { checked[0].VirtualService(nil) })
	if into >= fresh {
		t.Errorf("built into another it allocates %.0f times, fresh %.0f", into, fresh)
	}
	t.Logf("allocations: into %.0f, fresh %.0f", into, fresh)
}
