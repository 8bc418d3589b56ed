package conformance

import (
	"context"
	"os"
	"reflect"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	srv     *APIServer
	srvErr  error
	srvOnce sync.Once
)

// apiServer starts the package's API server on first use, with Istio's CRDs
// installed. Without the binaries the test is skipped, unless
// MLMESH_REQUIRE_APISERVER is set (as the README's test command does), when
// it fails.
func apiServer(t *testing.T) *APIServer {
	t.Helper()
	srvOnce.Do(func() {
		start := time.Now()
		srv, srvErr = StartAPIServer()
		if srvErr != nil {
			return
		}
		crds, err := MeshCRDs()
		if err != nil {
			srvErr = err
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if srvErr = srv.InstallCRDs(ctx, crds); srvErr != nil {
			return
		}
		// Istio's namespace, as a cluster with Istio installed has it: the
		// policies on the gateway's pods go there.
		ns := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": "istio-system"}}}
		_, srvErr = srv.Dynamic.Resource(schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}).Create(ctx, ns, metav1.CreateOptions{})
		t.Logf("kube-apiserver ready with Istio's CRDs and namespace in %s", time.Since(start).Round(time.Millisecond))
	})
	if srvErr != nil {
		if os.Getenv("MLMESH_REQUIRE_APISERVER") == "" {
			t.Skipf("no API server (set MLMESH_REQUIRE_APISERVER to make this a failure): %v", srvErr)
		}
		t.Fatalf("API server: %v", srvErr)
	}
	return srv
}

func TestMain(m *testing.M) {
	code := m.Run()
	if srv != nil {
		srv.Stop()
	}
	os.Exit(code)
}

// TestAPIServerApplyExamples applies every example bundle to a real
// kube-apiserver with server-side apply and strict field validation: nothing
// is rejected, and applying again changes nothing.
func TestAPIServerApplyExamples(t *testing.T) {
	s := apiServer(t)
	ctx := context.Background()
	bundles, err := ExampleBundles()
	if err != nil {
		t.Fatal(err)
	}
	n, gatewayRewrites := 0, 0
	for _, b := range bundles {
		// A bundle for an existing namespace (the fleet's) has no Namespace
		// object: create it, as the cluster's owner would have.
		if ns, _ := ParseBundle("ns", []byte("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: "+b.Namespace()+"\n")); ns != nil {
			if _, err := s.Apply(ctx, ns.Objects[0]); err != nil {
				t.Fatal(err)
			}
		}
		versions := map[string]string{}
		specs := map[string]any{}
		for _, o := range b.Objects {
			got, err := s.Apply(ctx, o)
			if err != nil {
				t.Errorf("%s: %s: server-side apply rejected: %v", b.Name, Describe(o), err)
				continue
			}
			versions[Describe(o)] = got.GetResourceVersion()
			specs[Describe(o)] = got.Object["spec"]
			n++
		}
		for _, o := range b.Objects {
			got, err := s.Apply(ctx, o)
			if err != nil {
				t.Errorf("%s: %s: second apply: %v", b.Name, Describe(o), err)
				continue
			}
			if v := versions[Describe(o)]; got.GetResourceVersion() != v && o.GroupVersionKind().Group == "gateway.networking.k8s.io" && o.GetKind() == "Gateway" &&
				reflect.DeepEqual(got.Object["spec"], specs[Describe(o)]) {
				// Observed with kube-apiserver 1.36: a Gateway API Gateway,
				// whose CRD defaults its status, is written again on every
				// apply (a new resourceVersion, the same content).
				gatewayRewrites++
			} else if got.GetResourceVersion() != v {
				t.Errorf("%s: %s: applying again changed the object (resourceVersion %s -> %s)", b.Name, Describe(o), v, got.GetResourceVersion())
			}
		}
	}
	t.Logf("kube-apiserver: %d objects of %d bundles applied twice (%d Gateway API Gateways written again, unchanged)", n, len(bundles), gatewayRewrites)
}
