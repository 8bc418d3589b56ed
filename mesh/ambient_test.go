package mesh_test

import (
	"strings"
	"testing"

	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/mlmesh/mlmesh/egress"
	"github.com/mlmesh/mlmesh/mesh"
	"github.com/mlmesh/mlmesh/names"
	"github.com/mlmesh/mlmesh/serving"
)

// ambientApp is secureApp in an ambient namespace.
func ambientApp() mesh.App {
	a := secureApp()
	a.API = mesh.GatewayAPI
	a.Namespace.Injection = mesh.InjectAmbient
	a.Namespace.ScopeSidecars = false
	sa, _ := a.GatewayServiceAccount("gw")
	a.Models[0].Access.Allow[1].From[0].ServiceAccount = sa
	return a
}

// TestAmbientObjects: the namespace label, the waypoint before the Services
// that use it, pods without sidecar settings, the model's policies on its
// Services, and the waypoint let through the default deny.
func TestAmbientObjects(t *testing.T) {
	objs, err := mesh.Build(ambientApp())
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	policies := map[string]*securityv1.AuthorizationPolicy{}
	for _, o := range objs {
		order = append(order, o.GetObjectKind().GroupVersionKind().Kind+"/"+o.GetName())
		switch o := o.(type) {
		case *corev1.Namespace:
			if o.Labels["istio.io/dataplane-mode"] != "ambient" || o.Labels["istio-injection"] != "" {
				t.Errorf("namespace labels %v", o.Labels)
			}
		case *corev1.Service:
			if o.Labels["istio.io/use-waypoint"] != "waypoint" || o.Labels["istio.io/ingress-use-waypoint"] != "true" {
				t.Errorf("service %s labels %v", o.Name, o.Labels)
			}
		case *gatewayv1.Gateway:
			if o.Name == "waypoint" && (o.Spec.GatewayClassName != "istio-waypoint" || o.Spec.Listeners[0].Protocol != "HBONE" || o.Spec.Listeners[0].Port != 15008) {
				t.Errorf("waypoint %+v", o.Spec)
			}
		case *securityv1.AuthorizationPolicy:
			policies[o.Name] = o
		}
		if d, ok := o.(*appsv1.Deployment); ok {
			// Fetched from s3:// at start: a sidecar would hold the model
			// until it is up; ztunnel is up before the pod.
			if len(d.Spec.Template.Annotations) > 0 || d.Spec.Template.Labels["sidecar.istio.io/inject"] != "" {
				t.Errorf("pods in ambient mode need no sidecar settings: %v %v", d.Spec.Template.Annotations, d.Spec.Template.Labels)
			}
		}
	}
	joined := strings.Join(order, " ")
	if w, s := strings.Index(joined, "Gateway/waypoint"), strings.Index(joined, "Service/ranker"); w < 0 || s < 0 || w > s {
		t.Errorf("the waypoint must come before the Services that use it: %s", joined)
	}
	p := policies["ranker"]
	if p == nil || p.Spec.Selector != nil || len(p.Spec.TargetRefs) != 2 || p.Spec.TargetRefs[0].Kind != "Service" || p.Spec.TargetRefs[1].Name != "ranker-v1" {
		t.Errorf("the model's policy must target its Services: %+v", p)
	}
	w := policies[names.WaypointAllow]
	if w == nil || w.Spec.Selector != nil || len(w.Spec.Rules) != 1 || w.Spec.Rules[0].From[0].Source.ServiceAccounts[0] != "waypoint" {
		t.Errorf("the waypoint must be let through the default deny: %+v", w)
	}
}

func TestAmbientChecks(t *testing.T) {
	for _, tc := range []struct {
		name   string
		break_ func(a *mesh.App)
		want   string
	}{
		{"Istio dialect", func(a *mesh.App) {
			a.API = mesh.IstioAPI
			a.Models[0].Access.Allow[1].From[0].ServiceAccount = gatewaySA
		},
			`namespace.injection: invalid value "ambient": ambient mode needs api: gateway`},
		{"scoped sidecars", func(a *mesh.App) { a.Namespace.ScopeSidecars = true },
			`namespace.scopeSidecars: invalid value "true": ambient mode ignores Sidecar resources`},
		{"waypoint outside ambient", func(a *mesh.App) { a.Namespace.Injection = mesh.InjectNamespace; a.Namespace.Waypoint = "wp" },
			`namespace.waypoint: invalid value "wp": a waypoint is for an ambient namespace only`},
		{"waypoint name", func(a *mesh.App) { a.Namespace.Waypoint = "1wp" },
			`namespace.waypoint: invalid value "1wp"`},
		{"model named as the waypoint", func(a *mesh.App) { a.Namespace.Waypoint = "ranker" },
			`models[0].name: invalid value "ranker": the name of the namespace's waypoint`},
		{"sidecar asked for", func(a *mesh.App) { a.Models[0].Sidecar = serving.SidecarInject },
			`models[0].sidecar: invalid value "inject": the pods of an ambient namespace run without a sidecar`},
		{"TLS originated for egress", func(a *mesh.App) {
			a.Egress = append(a.Egress, egress.API("models-api", "", "api.example.com"))
			a.Egress[len(a.Egress)-1].Ports = egress.OriginateTLS()
		}, `ports[0].originateTLS: invalid value "true": an ambient namespace originates no TLS for egress`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := ambientApp()
			tc.break_(&a)
			refusedApp(t, a, tc.want, 1)
		})
	}
}
