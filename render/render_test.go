package render_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/mlmesh/mlmesh/egress"
	"github.com/mlmesh/mlmesh/ingress"
	"github.com/mlmesh/mlmesh/mesh"
	"github.com/mlmesh/mlmesh/render"
	"github.com/mlmesh/mlmesh/render/rendertest"
	"github.com/mlmesh/mlmesh/routing"
	"github.com/mlmesh/mlmesh/serving"
)

// kitchenSink uses every feature of every package, so that the encoder
// meets every field mlmesh writes.
func kitchenSink(t testing.TB) []render.Object {
	t.Helper()
	three := int32(3)
	app := mesh.App{
		Namespace: mesh.Namespace{Name: "sink", MTLS: mesh.MTLSPermissive, Labels: map[string]string{"team": "ml"}, ServiceAccounts: []string{"bert"}},
		Gateways: []ingress.Spec{{
			Name:     "public",
			Selector: map[string]string{"istio": "public-gateway"},
			Servers: []ingress.Server{
				{Port: 80, Hosts: []string{"*.example.com"}, HTTPSRedirect: true},
				{Port: 443, Protocol: ingress.HTTPS, Hosts: []string{"sink/*.example.com"}, TLS: &ingress.ServerTLS{Mode: ingress.TLSMutual, CredentialName: "example-com"}},
			},
		}},
		Egress: []egress.Spec{
			egress.GCS("gcs", ""),
			{Name: "registry", Hosts: []string{"models.internal.example.com"}, Ports: egress.OriginateTLS(), ExportTo: []string{"."}},
			{Name: "wild", Hosts: []string{"*.blob.core.windows.net"}, Resolution: egress.None},
		},
		Models: []mesh.Model{
			{
				Model: serving.Model{
					Name:               "bert",
					Runtime:            serving.Triton(),
					ServiceAccountName: "bert",
					Labels:             map[string]string{"cost-center": "42"},
					Versions: []serving.Version{
						{
							Name: "v1", ModelURI: "gs://m/bert", Replicas: &three, GPUs: 1,
							ImagePullPolicy: corev1.PullIfNotPresent,
							Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
								corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("4Gi"),
							}},
							Env:          []corev1.EnvVar{{Name: "CUDA_VISIBLE_DEVICES", Value: "0"}, {Name: "EMPTY", Value: ""}},
							NodeSelector: map[string]string{"nvidia.com/gpu.present": "true"},
							Tolerations:  []corev1.Toleration{{Key: "nvidia.com/gpu", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}},
						},
						{Name: "v2", ModelURI: "gs://m/bert", Autoscaled: true, Args: []string{"--log-verbose=1"}},
						{Name: "v3", ModelURI: "gs://m/bert"},
					},
				},
				Traffic: mesh.Traffic{
					Rules: []routing.Rule{
						{
							Name:  "pinned",
							Match: []routing.Match{{Name: "cookie", Headers: map[string]routing.StringMatch{"cookie": routing.Regex("^(.*?;)?(version=v3)(;.*)?$")}}, {URI: &routing.StringMatch{Kind: routing.MatchPrefix, Value: "/v2/models/bert-v3"}}},
							Split: []routing.Destination{{Subset: "v3"}},
							Fault: &routing.Fault{Delay: &routing.Delay{Fixed: 2 * time.Second, Percent: 0.5}, Abort: &routing.Abort{GRPCStatus: "UNAVAILABLE", Percent: 1}},
						},
						{
							Split:   []routing.Destination{{Subset: "v1", Weight: 80}, {Subset: "v2", Weight: 20}, {Subset: "v3", Weight: 0}},
							Mirror:  []routing.Mirror{{Subset: "v3", Percent: 12.5}},
							Timeout: 1500 * time.Millisecond,
							Retries: &routing.Retries{Attempts: 2, PerTryTimeout: 500 * time.Millisecond, RetryOn: []string{"connect-failure", "503"}},
						},
					},
					Policy: &routing.TrafficPolicy{
						TLS:              routing.TLSIstioMutual,
						ConnectionPool:   &routing.ConnectionPool{MaxConnections: 100, ConnectTimeout: time.Second, MaxPendingRequests: 10, MaxRequests: 50, MaxRetries: 3, IdleTimeout: time.Minute},
						OutlierDetection: &routing.OutlierDetection{Consecutive5xxErrors: 5, ConsecutiveGatewayErrors: 3, Interval: 10 * time.Second, BaseEjectionTime: 30 * time.Second, MaxEjectionPercent: 50},
						LoadBalancer:     &routing.LoadBalancer{HashCookie: &routing.Cookie{Name: "session", Path: "/", TTL: time.Hour}},
					},
				},
				Expose: &mesh.Expose{Gateway: "public", Hosts: []string{"bert.example.com"}},
			},
			{
				Model: serving.Model{Name: "torch", Runtime: serving.TorchServe(), Sidecar: serving.SidecarSkip, Versions: []serving.Version{{Name: "v1", ModelURI: "s3://b/torch"}}},
				Traffic: mesh.Traffic{
					Port:   8080,
					Policy: &routing.TrafficPolicy{LoadBalancer: &routing.LoadBalancer{HashHeader: "x-user"}},
				},
				Expose: &mesh.Expose{Gateway: "public", Hosts: []string{"torch.example.com"}},
			},
			{
				Model: serving.Model{Name: "custom", Runtime: serving.Custom("ghcr.io/example/model:1", serving.Port{Name: "rest", Number: 9000}, serving.Port{Number: 9001, Protocol: serving.GRPC})},
			},
		},
	}
	app.Models[2].Versions = []serving.Version{{Name: "v1"}}
	objs, err := mesh.Build(app)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

func TestKitchenSinkGolden(t *testing.T) {
	rendertest.Golden(t, kitchenSink(t), "testdata/kitchen-sink.golden.yaml")
}

// TestSameMeaningAsReference checks that the hand-written encoder means what
// the reference encoding means: for every object of the kitchen sink and
// the examples, the canonical YAML and sigs.k8s.io/yaml's output
// (encoding/json for Kubernetes types, protojson for Istio's) parse to the
// same data, once the documented differences of the canonical form are
// applied (render.CanonicalNormalize). TestRandomValuesMatchReference does
// the same for random values of every type.
func TestSameMeaningAsReference(t *testing.T) {
	objs := kitchenSink(t)
	for _, dir := range []string{"../examples"} {
		objs = append(objs, exampleObjects(t, dir)...)
	}
	for _, o := range objs {
		ours, err := render.MarshalYAML(o)
		if err != nil {
			t.Fatal(err)
		}
		ref, err := yaml.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		var a, b any
		if err := yaml.Unmarshal(ours, &a); err != nil {
			t.Fatalf("%s: our YAML does not parse: %v\n%s", render.Describe(o), err, ours)
		}
		if err := yaml.Unmarshal(ref, &b); err != nil {
			t.Fatal(err)
		}
		a, b = render.CanonicalNormalize(a, true), render.CanonicalNormalize(b, false)
		if !reflect.DeepEqual(a, b) {
			ja, _ := json.MarshalIndent(a, "", "  ")
			jb, _ := json.MarshalIndent(b, "", "  ")
			t.Errorf("%s differs from the reference encoding (-reference +ours):\n%s", render.Describe(o), rendertest.Diff(string(jb), string(ja)))
		}
	}
}

func exampleObjects(t *testing.T, dir string) []render.Object {
	// The examples are main packages; their objects are rebuilt here from
	// the golden files' documents as typed objects would not round-trip.
	// Instead, build the seed scenarios' shapes directly.
	t.Helper()
	objs, err := mesh.Build(mesh.App{
		Namespace: mesh.Namespace{Name: "ex", Injection: mesh.InjectPods},
		Egress:    []egress.Spec{egress.S3("s3", "", "us-east-1", "bucket"), egress.AzureBlob("az", "", "acct"), egress.API("api", "", "api.example.com")},
		Models: []mesh.Model{{
			Model:   serving.Model{Name: "oip", Runtime: serving.OpenInference("seldonio/mlserver:1.6.1"), Versions: []serving.Version{{Name: "a", ModelURI: "s3://oip/a"}, {Name: "b", ModelURI: "s3://oip/b"}}},
			Traffic: mesh.Traffic{Rules: []routing.Rule{{Split: routing.SplitOf(map[string]int32{"a": 100, "b": 0})}}},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

func TestDeterministicAndOrderIndependent(t *testing.T) {
	objs := kitchenSink(t)
	first, err := render.YAML(objs)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewSource(1))
	for i := 0; i < 20; i++ {
		shuffled := append([]render.Object(nil), objs...)
		r.Shuffle(len(shuffled), func(a, b int) { shuffled[a], shuffled[b] = shuffled[b], shuffled[a] })
		got, err := render.YAML(shuffled)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(first, got) {
			t.Fatalf("run %d: output depends on input order or on run:\n%s", i, rendertest.Diff(string(first), string(got)))
		}
	}
}

func TestApplyOrder(t *testing.T) {
	objs := kitchenSink(t)
	render.Sort(objs)
	var kinds []string
	for _, o := range objs {
		k := o.GetObjectKind().GroupVersionKind().Kind
		if len(kinds) == 0 || kinds[len(kinds)-1] != k {
			kinds = append(kinds, k)
		}
	}
	want := []string{"Namespace", "PeerAuthentication", "ServiceEntry", "Service", "Deployment", "PodDisruptionBudget", "DestinationRule", "Gateway", "VirtualService"}
	if strings.Join(kinds, ",") != strings.Join(want, ",") {
		t.Errorf("kinds in order %v, want %v", kinds, want)
	}
	for i := 1; i < len(objs); i++ {
		a, b := objs[i-1], objs[i]
		if a.GetObjectKind() == b.GetObjectKind() {
			continue
		}
		if a.GetObjectKind().GroupVersionKind().Kind == b.GetObjectKind().GroupVersionKind().Kind && a.GetNamespace()+"/"+a.GetName() > b.GetNamespace()+"/"+b.GetName() {
			t.Errorf("%s before %s", render.Describe(a), render.Describe(b))
		}
	}
}

func TestWeightZeroIsWritten(t *testing.T) {
	b, err := render.YAML(kitchenSink(t))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte("        subset: v3\n      weight: 0\n")) {
		t.Error("a dark version's weight: 0 is missing")
	}
	for _, noise := range []string{"status:", "creationTimestamp", ": {}", ": null", "resources: {}"} {
		if bytes.Contains(b, []byte(noise)) {
			t.Errorf("output holds %q", noise)
		}
	}
}

func TestErrors(t *testing.T) {
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "a", Namespace: "x"}}
	// Kinds are filled in for known types.
	if _, err := render.YAML([]render.Object{svc}); err != nil {
		t.Errorf("a Service without TypeMeta: %v", err)
	}
	if _, err := render.YAML([]render.Object{svc, svc.DeepCopy()}); err == nil || !strings.Contains(err.Error(), "Service x/a appears twice") {
		t.Errorf("duplicate objects: got %v", err)
	}
	if _, err := render.YAML([]render.Object{&appsv1.Deployment{}}); err == nil || !strings.Contains(err.Error(), "no name") {
		t.Errorf("nameless object: got %v", err)
	}
	if _, err := render.YAML([]render.Object{nil}); err == nil {
		t.Error("nil object: no error")
	}
	var nilSvc *corev1.Service
	if _, err := render.YAML([]render.Object{nilSvc}); err == nil {
		t.Error("typed nil object: no error")
	}
}

func TestJSON(t *testing.T) {
	objs := kitchenSink(t)
	j, err := render.JSON(objs)
	if err != nil {
		t.Fatal(err)
	}
	var list struct {
		Kind  string
		Items []map[string]any
	}
	if err := json.Unmarshal(j, &list); err != nil {
		t.Fatal(err)
	}
	if list.Kind != "List" || len(list.Items) != len(objs) {
		t.Fatalf("got kind %q with %d items, want List with %d", list.Kind, len(list.Items), len(objs))
	}
	// Same content as the YAML, document by document.
	y, _ := render.YAML(objs)
	docs := strings.Split(string(y), "---\n")
	for i, d := range docs {
		var m map[string]any
		if err := yaml.Unmarshal([]byte(d), &m); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(m, list.Items[i]) {
			t.Errorf("item %d differs between YAML and JSON", i)
		}
	}
	rendertest.GoldenBytes(t, j, "testdata/kitchen-sink.golden.json")
}

func TestWriteDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	objs := kitchenSink(t)
	paths, err := render.WriteDir(dir, objs)
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) != len(objs) {
		t.Fatalf("%d files for %d objects", len(paths), len(objs))
	}
	var joined []byte
	for i, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 {
			joined = append(joined, "---\n"...)
		}
		joined = append(joined, b...)
	}
	stream, _ := render.YAML(objs)
	if !bytes.Equal(stream, joined) {
		t.Error("the files joined differ from the stream")
	}
	if filepath.Base(paths[0]) != "001-namespace-sink.yaml" {
		t.Errorf("first file %s", filepath.Base(paths[0]))
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != len(objs) {
		t.Errorf("%d entries in dir, want %d (temporary files left?)", len(entries), len(objs))
	}
	// An invalid object writes nothing.
	empty := filepath.Join(t.TempDir(), "none")
	if _, err := render.WriteDir(empty, append(objs, objs[0])); err == nil {
		t.Fatal("duplicate object: no error")
	}
	if _, err := os.Stat(empty); !os.IsNotExist(err) {
		t.Error("a failed WriteDir created its directory")
	}
}

// TestConcurrentEncoding: encoders in several goroutines compile and share
// the per-type codecs (run with -race; alone, so that the codecs are first
// compiled here).
func TestConcurrentEncoding(t *testing.T) {
	// Shared by every goroutine: the objects, and in them a Quantity that
	// is not a map value (whose String caches into the Quantity).
	size := resource.NewQuantity(1<<30, resource.BinarySI)
	scratch := &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Name: "scratch", Namespace: "x"},
		Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			Volumes: []corev1.Volume{{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{SizeLimit: size}}}},
		}}},
	}
	objs := append(kitchenSink(t), scratch)
	// The expected bytes come from copies, so that the goroutines are the
	// first to render the shared objects.
	copies := make([]render.Object, len(objs))
	for i, o := range objs {
		copies[i] = o.DeepCopyObject().(render.Object)
	}
	want, err := render.YAML(copies)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(want, []byte("sizeLimit: 1Gi")) {
		t.Fatalf("the shared Quantity is not rendered:\n%s", want)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Types new to the codec caches, met by every goroutine at
			// once. Each has its own: rendering sets a missing TypeMeta.
			fresh := []render.Object{
				&policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Name: "pdb", Namespace: "x"}},
				&autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Name: "hpa", Namespace: "x"}},
			}
			for i := 0; i < 10; i++ {
				if _, err := render.YAML(fresh); err != nil {
					errs <- err
					return
				}
				got, err := render.YAML(objs)
				if err != nil {
					errs <- err
					return
				}
				if !bytes.Equal(got, want) {
					errs <- fmt.Errorf("goroutine output differs")
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestWriteDirLexicalOrder: "kubectl apply -f DIR" reads files in lexical
// order, which must be apply order past 999 objects too.
func TestWriteDirLexicalOrder(t *testing.T) {
	var objs []render.Object
	for i := range 1200 {
		objs = append(objs, &corev1.ConfigMap{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("c%05d", i), Namespace: "ns"},
		})
	}
	dir := t.TempDir()
	paths, err := render.WriteDir(dir, objs)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := filepath.Base(paths[0]), "0001-configmap-ns-c00000.yaml"; got != want {
		t.Errorf("first file %s, want %s", got, want)
	}
	entries, err := os.ReadDir(dir) // sorted by name
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range entries {
		if want := filepath.Base(paths[i]); e.Name() != want {
			t.Fatalf("file %d in lexical order is %s, want %s (apply order)", i, e.Name(), want)
		}
	}
}
