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
