package serving

import (
	"math/rand"
	"reflect"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/mlmesh/mlmesh/internal/labels"
)

// deploymentVariants are models whose Deployments differ in every part
// DeploymentInto reuses: runtimes with and without a command, env and an
// HTTP or TCP probe; replicas, autoscaling, GPUs with and without resource
// lists, claims, env, args, pull policy, node selectors, tolerations and
// the caller's own security contexts.
func deploymentVariants() []Model {
	two := int32(2)
	user := int64(42)
	yes := true
	return []Model{
		{Name: "tf", Runtime: TFServing(), Sidecar: SidecarInject, Versions: []Version{
			{Name: "v1", ModelURI: "s3://m/1", Replicas: &two, Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
				corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("2Gi")}}},
			{Name: "v2", ModelURI: "s3://m/2", Autoscaled: true},
		}},
		{Name: "triton", Runtime: Triton(), Labels: map[string]string{"team": "ml"}, ServiceAccountName: "sa", Versions: []Version{
			{Name: "gpu", ModelURI: "s3://m/gpu", GPUs: 2, Resources: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m")},
				Claims:   []corev1.ResourceClaim{{Name: "gpu-claim"}},
			}, NodeSelector: map[string]string{"gpu": "true"}, Tolerations: []corev1.Toleration{{Key: "gpu", Operator: corev1.TolerationOpExists}}},
			{Name: "nolists", ModelURI: "s3://m/nolists", GPUs: 1},
		}},
		{Name: "torch", Runtime: TorchServe(), Sidecar: SidecarSkip, Versions: []Version{
			{Name: "v1", ModelURI: "s3://m/torch", Args: []string{"--debug"}, ImagePullPolicy: corev1.PullAlways, Image: "example.com/torch:1",
				Env: []corev1.EnvVar{{Name: "A", Value: "1"}}},
		}},
		{Name: "oip", Runtime: OpenInference("example.com/mlserver:1"), Versions: []Version{
			{Name: "v1", ModelURI: "gs://m", Env: []corev1.EnvVar{{Name: "MODEL_NAME", Value: "mine"}}},
			{Name: "v2", ModelURI: "gs://m",
				SecurityContext:    &corev1.SecurityContext{RunAsUser: &user, Capabilities: &corev1.Capabilities{Add: []corev1.Capability{"NET_ADMIN"}}},
				PodSecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: &yes, FSGroup: &user}},
		}},
		// A label of its own that mlmesh's overrides: its label maps hold
		// one entry fewer than it has labels and mlmesh has keys.
		{Name: "named", Runtime: TFServing(), Labels: map[string]string{labels.Name: "mine"}, Sidecar: SidecarInject, Versions: []Version{
			{Name: "v1", ModelURI: "s3://m/named"},
		}},
		{Name: "tcp", Runtime: Custom("example.com/raw:1", Port{Number: 9000, Protocol: TCP}), Versions: []Version{
			{Name: "v1", Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{}, Requests: corev1.ResourceList{}}},
		}},
	}
}

// TestDeploymentIntoEqualsFresh builds a random sequence of Deployments
// into one object and requires each to equal the fresh DeploymentOf (deep
// equality: nil and empty differ too), and the models to be unchanged.
func TestDeploymentIntoEqualsFresh(t *testing.T) {
	models, built := checkedVariants(t)
	before := deploymentVariants()
	r := rand.New(rand.NewSource(1))
	var d appsv1.Deployment
	for n := 0; n < 500; n++ {
		i := r.Intn(len(built))
		k := r.Intn(len(models[i].Versions))
		built[i].Deployment(k, &d)
		if fresh := built[i].Deployment(k, nil); !reflect.DeepEqual(&d, fresh) {
			t.Fatalf("build %d (%s, version %d): a Deployment built into another differs from a fresh one:\n%+v\nwant\n%+v", n, models[i].Name, k, d, *fresh)
		}
	}
	for i := range models {
		a, b := models[i], before[i]
		a.Runtime, b.Runtime = Runtime{}, Runtime{} // funcs never DeepEqual
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s: building changed the model", a.Name)
		}
	}
}

// TestDeploymentIntoAllocatesLittle: reusing a Deployment saves most of
// what building a fresh one allocates.
func TestDeploymentIntoAllocatesLittle(t *testing.T) {
	m := deploymentVariants()[0]
	c, err := Check(&m)
	if err != nil {
		t.Fatal(err)
	}
	var d appsv1.Deployment
	into := testing.AllocsPerRun(50, func() { c.Deployment(0, &d) })
	fresh := testing.AllocsPerRun(50, func() { c.Deployment(0, nil) })
	if into > fresh/2 {
		t.Errorf("building into a Deployment allocates %v times, a fresh one %v", into, fresh)
	}
	t.Logf("allocations: into %v, fresh %v", into, fresh)
}

// TestDeploymentSharesNothing: a caller may edit a built Deployment
// without changing the Model, and edit the Model without changing what it
// built (node selectors, tolerations, env sources, resource lists).
func TestDeploymentSharesNothing(t *testing.T) {
	secs := int64(30)
	m := Model{Name: "m", Versions: []Version{{
		Name: "v1", ModelURI: "s3://m/1",
		NodeSelector: map[string]string{"gpu": "a100"},
		Tolerations:  []corev1.Toleration{{Key: "gpu", Operator: corev1.TolerationOpExists, TolerationSeconds: &secs}},
		Env: []corev1.EnvVar{{Name: "TOKEN", ValueFrom: &corev1.EnvVarSource{
			SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "s"}, Key: "k"}}}},
		Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}},
	}}}
	before := deploymentCopy(t, m)

	deps, err := Deployments(m)
	if err != nil {
		t.Fatal(err)
	}
	ps := &deps[0].Spec.Template.Spec
	ps.NodeSelector["gpu"] = "h100"
	*ps.Tolerations[0].TolerationSeconds = 5
	ps.Tolerations[0].Key = "other"
	ps.Containers[0].Env[0].ValueFrom.SecretKeyRef.Key = "changed"
	ps.Containers[0].Resources.Limits[corev1.ResourceCPU] = resource.MustParse("8")
	if after := deploymentCopy(t, m); !reflect.DeepEqual(before, after) {
		t.Errorf("editing the Deployment changed the Model's version:\nbefore %+v\nafter  %+v", before, after)
	}

	deps, _ = Deployments(m)
	built := deps[0].DeepCopy()
	m.Versions[0].NodeSelector["gpu"] = "t4"
	*m.Versions[0].Tolerations[0].TolerationSeconds = 1
	m.Versions[0].Env[0].ValueFrom.SecretKeyRef.Key = "edited"
	if !reflect.DeepEqual(built, deps[0]) {
		t.Error("editing the Model changed a Deployment built before")
	}
}

// deploymentCopy is a deep copy of the parts of m's first version a
// Deployment is built from.
func deploymentCopy(t *testing.T, m Model) Version {
	t.Helper()
	v := m.Versions[0]
	v.NodeSelector = map[string]string{}
	for k, val := range m.Versions[0].NodeSelector {
		v.NodeSelector[k] = val
	}
	v.Tolerations = nil
	for _, tol := range m.Versions[0].Tolerations {
		v.Tolerations = append(v.Tolerations, *tol.DeepCopy())
	}
	v.Env = nil
	for _, e := range m.Versions[0].Env {
		v.Env = append(v.Env, *e.DeepCopy())
	}
	v.Resources = *m.Versions[0].Resources.DeepCopy()
	return v
}

// TestServiceIntoEqualsFresh: a Service built into the storage of another
// model's is the Service built fresh, whatever was there before.
func TestServiceIntoEqualsFresh(t *testing.T) {
	models, built := checkedVariants(t)
	r := rand.New(rand.NewSource(1))
	var s corev1.Service
	for n := 0; n < 200; n++ {
		i := r.Intn(len(built))
		built[i].Service(&s)
		if fresh := built[i].Service(nil); !reflect.DeepEqual(&s, fresh) {
			t.Fatalf("build %d (%s): a Service built into another differs from a fresh one:\n%+v\nwant\n%+v", n, models[i].Name, s, *fresh)
		}
	}
	into := testing.AllocsPerRun(50, func() { built[0].Service(&s) })
	fresh := testing.AllocsPerRun(50, func() { built[0].Service(nil) })
	if into >= fresh {
		t.Errorf("a Service built into another allocates %.0f times, fresh %.0f", into, fresh)
	}
}

// checkedVariants are deploymentVariants, each checked.
func checkedVariants(t *testing.T) ([]Model, []Checked) {
	t.Helper()
	models := deploymentVariants()
	built := make([]Checked, len(models))
	for i := range models {
		c, err := Check(&models[i])
		if err != nil {
			t.Fatalf("%s: %v", models[i].Name, err)
		}
		built[i] = c
	}
	return models, built
}
