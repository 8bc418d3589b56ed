package conformance

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/mlmesh/mlmesh/apply"
	"github.com/mlmesh/mlmesh/apply/applytest"
)

// TestCacheFile runs on the real kube-apiserver what a CI job does on
// every run: a new Client, the verdicts of the run before read from a file
// (apply.LoadCache), apply, save them again. With nothing changed every
// object is skipped and no schema is read (only their digest, from the
// OpenAPI index); a Deployment another manager changed since is sent, and
// only it; after a CRD's schema changes (a description of the
// DestinationRule CRD, as an upgrade of Istio would), the digest changes
// and every object is compared again by the new schemas — none sent, all
// as wanted still. The file holds no object content, one verdict an object.
func TestCacheFile(t *testing.T) {
	s := apiServer(t)
	ctx := context.Background()
	objs := build(t, manyModels("cache-file", 20))
	path := filepath.Join(t.TempDir(), "apply-cache.json")
	run := func(step string, opts apply.Options) (apply.Result, applytest.Counts) {
		t.Helper()
		cache, err := apply.LoadCache(path)
		if err != nil {
			t.Fatal(err)
		}
		c := applytest.NewCounter(typedClient(t, s))
		opts.Cache = cache
		res, err := apply.Apply(ctx, c, objs, opts)
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		if err := cache.Save(path); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d objects, sent %v, %+v", step, len(res.Objects), sentNames(res), c.Counts())
		return res, c.Counts()
	}
	run("first apply", apply.Options{})
	if _, n := run("again, from the file", apply.Options{}); n.Applies != 0 || n.Schemas != 0 {
		t.Errorf("nothing changed, yet %d objects sent and the schemas read %d times", n.Applies, n.Schemas)
	}
	if c, _ := apply.LoadCache(path); c.Len() != len(objs) {
		t.Errorf("the file holds %d verdicts, want %d", c.Len(), len(objs))
	}

	// Another manager changes a Deployment's replicas, which mlmesh owns.
	deployments := s.Dynamic.Resource(schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}).Namespace("cache-file")
	if _, err := deployments.Patch(ctx, "m003-v2", types.MergePatchType, []byte(`{"spec":{"replicas":5}}`), metav1.PatchOptions{FieldManager: "kubectl-edit"}); err != nil {
		t.Fatal(err)
	}
	if res, _ := run("a Deployment changed by another manager", apply.Options{Force: true}); len(sentNames(res)) != 1 || sentNames(res)[0] != "Deployment cache-file/m003-v2" {
		t.Errorf("sent %v, want the changed Deployment alone", sentNames(res))
	}

	// The DestinationRule CRD's schema changes.
	drGV := []schema.GroupVersion{{Group: "networking.istio.io", Version: "v1"}}
	before, err := typedClient(t, s).SchemaDigest(ctx, drGV)
	if err != nil {
		t.Fatal(err)
	}
	crds := s.Dynamic.Resource(schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"})
	crd, err := crds.Get(ctx, "destinationrules.networking.istio.io", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	versions, _, _ := unstructured.NestedSlice(crd.Object, "spec", "versions")
	for _, v := range versions {
		_ = unstructured.SetNestedField(v.(map[string]any), "Traffic policy of a host (TestCacheFile "+time.Now().Format(time.RFC3339Nano)+").", "schema", "openAPIV3Schema", "description")
	}
	_ = unstructured.SetNestedSlice(crd.Object, versions, "spec", "versions")
	if _, err := crds.Update(ctx, crd, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		after, err := typedClient(t, s).SchemaDigest(ctx, drGV)
		if err == nil && after != before {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the schema digest did not change (%v)", err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	if _, n := run("after the DestinationRule CRD's schema changed", apply.Options{}); n.Applies != 0 || n.Schemas == 0 {
		t.Errorf("new schemas: %d sent, schemas read %d times (want none sent, read again)", n.Applies, n.Schemas)
	}
	if _, n := run("again, from the file", apply.Options{}); n.Applies != 0 || n.Schemas != 0 {
		t.Errorf("nothing changed since, yet %d objects sent and the schemas read %d times", n.Applies, n.Schemas)
	}
}

// sentNames are the objects of res that were sent.
func sentNames(res apply.Result) []string {
	var out []string
	for _, r := range res.Sent() {
		out = append(out, r.Object)
	}
	return out
}
