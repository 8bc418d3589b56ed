package conformance

import (
	"fmt"
	"math/rand"
	"time"

	"github.com/mlmesh/mlmesh/egress"
	"github.com/mlmesh/mlmesh/ingress"
	"github.com/mlmesh/mlmesh/mesh"
	"github.com/mlmesh/mlmesh/routing"
	"github.com/mlmesh/mlmesh/serving"
)

// Spec is a generated App and, when a fault was injected, what it was.
type Spec struct {
	App   mesh.App
	Fault string // "" for an App meant to be valid
}

// Generator makes random Apps from a seed: valid ones, and ones with exactly
// one fault that mlmesh promises to catch.
type Generator struct {
	r *rand.Rand
}

// NewGenerator returns a generator for seed.
func NewGenerator(seed int64) *Generator { return &Generator{r: rand.New(rand.NewSource(seed))} }

func (g *Generator) pick(xs ...string) string { return xs[g.r.Intn(len(xs))] }
func (g *Generator) chance(p float64) bool    { return g.r.Float64() < p }

var validRegexes = []string{".*chrome.*", "^Mozilla/5\\.0.*", "(?i)firefox", "v[0-9]+", "[a-z]{2,8}", "^(a|b|c)$", "\\d+\\.\\d+"}
var badRegexes = []string{"(?=chrome)", "[a-z", "a{1001}", "(?!x)", "*x", "\\8"}

// splitOf returns n weights summing to 100, some of them 0.
func (g *Generator) splitOf(n int) []int32 {
	w := make([]int32, n)
	left := int32(100)
	for i := 0; i < n-1; i++ {
		if g.chance(0.2) {
			continue // dark
		}
		x := int32(g.r.Intn(int(left) + 1))
		w[i] = x
		left -= x
	}
	w[n-1] = left
	g.r.Shuffle(n, func(a, b int) { w[a], w[b] = w[b], w[a] })
	return w
}

func (g *Generator) runtime() serving.Runtime {
	switch g.r.Intn(5) {
	case 0:
		return serving.TFServing()
	case 1:
		return serving.Triton()
	case 2:
		return serving.TorchServe()
	case 3:
		return serving.OpenInference("seldonio/mlserver:1.6.1")
	}
	ports := []serving.Port{{Number: int32(8000 + g.r.Intn(1000)), Protocol: serving.HTTP}}
	if g.chance(0.5) {
		ports = append(ports, serving.Port{Number: int32(9000 + g.r.Intn(1000)), Protocol: serving.GRPC})
	}
	return serving.Custom("ghcr.io/example/model:1", ports...)
}

func (g *Generator) match() routing.Match {
	m := routing.Match{}
	switch g.r.Intn(4) {
	case 0:
		m.URI = &routing.StringMatch{Kind: routing.MatchPrefix, Value: g.pick("/v1/", "/v2/models/", "/predict")}
	default:
		h := g.pick("x-model-version", "user-agent", "x-canary", "x-tenant", "cookie")
		var sm routing.StringMatch
		switch g.r.Intn(3) {
		case 0:
			sm = routing.Exact(g.pick("v2", "yes", "beta", "team-a"))
		case 1:
			sm = routing.Prefix(g.pick("Mozilla", "curl", "b"))
		default:
			sm = routing.Regex(validRegexes[g.r.Intn(len(validRegexes))])
		}
		m.Headers = map[string]routing.StringMatch{h: sm}
	}
	return m
}

// Next returns the next generated App.
func (g *Generator) Next(i int) Spec {
	ns := fmt.Sprintf("gen-%d", i)
	app := mesh.App{Namespace: mesh.Namespace{Name: ns}}
	switch g.r.Intn(4) {
	case 0:
		app.Namespace.MTLS = mesh.MTLSStrict
	case 1:
		app.Namespace.MTLS = mesh.MTLSPermissive
	}
	if g.chance(0.5) {
		app.Egress = append(app.Egress, egress.S3("store", "", g.pick("us-east-1", "eu-west-1", "ap-south-1")))
	}
	if g.chance(0.3) {
		app.Egress = append(app.Egress, egress.GCS("gcs", ""))
	}
	if g.chance(0.3) {
		// A registry reached over plain HTTP, TLS originated by the sidecar.
		reg := egress.Spec{Name: "registry", Hosts: []string{"models.internal.example.com"}, Ports: egress.OriginateTLS(), ExportTo: []string{"."}}
		if g.chance(0.5) {
			reg.Ports = []egress.Port{{Number: 8080, OriginateTLS: true, TargetPort: 8443}}
		}
		app.Egress = append(app.Egress, reg)
	}
	if g.chance(0.5) {
		host := g.pick("*", "models.example.com", "*.example.com")
		app.Gateways = append(app.Gateways, ingress.Spec{Name: "gw", Servers: []ingress.Server{{Port: []uint32{80, 31400}[g.r.Intn(2)], Hosts: []string{host}}}})
	}
	nModels := 1 + g.r.Intn(3)
	exposed := 0
	for m := 0; m < nModels; m++ {
		name := fmt.Sprintf("%s-%d", g.pick("bert", "resnet", "fraud", "ranker"), m)
		model := mesh.Model{Model: serving.Model{Name: name, Runtime: g.runtime()}}
		nv := 1 + g.r.Intn(4)
		for v := 0; v < nv; v++ {
			ver := serving.Version{Name: fmt.Sprintf("v%d", v+1), ModelURI: fmt.Sprintf("s3://models/%s/%d", name, v+1)}
			if g.chance(0.3) {
				n := int32(g.r.Intn(4))
				ver.Replicas = &n
			}
			model.Versions = append(model.Versions, ver)
		}
		var rules []routing.Rule
		if nv > 1 && g.chance(0.5) {
			used := map[string]bool{}
			for k := g.r.Intn(3); k > 0; k-- {
				m := g.match()
				key := fmt.Sprint(m.Headers, m.URI)
				if used[key] {
					continue
				}
				used[key] = true
				rules = append(rules, routing.Rule{Match: []routing.Match{m}, Split: []routing.Destination{{Subset: model.Versions[g.r.Intn(nv)].Name}}})
			}
		}
		if nv > 1 || g.chance(0.5) {
			w := g.splitOf(nv)
			var split []routing.Destination
			for v := range model.Versions {
				split = append(split, routing.Destination{Subset: model.Versions[v].Name, Weight: w[v]})
			}
			last := routing.Rule{Split: split}
			if g.chance(0.3) {
				v := 1 + g.r.Intn(30000)
				last.Timeout = time.Duration(v) * time.Millisecond
				if v%7 == 0 {
					// Some long, with a millisecond part: the Gateway API
					// writes those in several parts (GEP-2257), which its
					// CRD's pattern holds. Derived from v, so the stream of
					// random numbers, and every later spec, is unchanged.
					last.Timeout = time.Duration(v)*time.Second + time.Duration(v%1000)*time.Millisecond
				}
			}
			if g.chance(0.3) {
				last.Retries = &routing.Retries{Attempts: int32(g.r.Intn(3)), RetryOn: nil}
				if last.Retries.Attempts > 0 {
					last.Retries.RetryOn = []string{g.pick("connect-failure", "5xx", "reset", "503")}
				}
			}
			if nv > 1 && g.chance(0.2) {
				last.Mirror = []routing.Mirror{{Subset: model.Versions[g.r.Intn(nv)].Name, Percent: float64(1 + g.r.Intn(100))}}
			}
			if g.chance(0.25) {
				last.Headers = &routing.HeaderChanges{
					Request:  routing.HeaderOps{Set: map[string]string{g.pick("x-model", "x-tenant"): name}, Remove: []string{g.pick("x-debug", "cookie")}},
					Response: routing.HeaderOps{Add: map[string]string{"x-served-by": name}},
				}
			}
			rules = append(rules, last)
		}
		model.Traffic.Rules = rules
		if g.chance(0.3) {
			model.Traffic.Policy = &routing.TrafficPolicy{TLS: routing.TLSIstioMutual}
			if g.chance(0.5) {
				model.Traffic.Policy.LoadBalancer = &routing.LoadBalancer{HashHeader: "x-user"}
			}
		}
		if len(app.Gateways) > 0 && g.chance(0.5) {
			// Each exposed model answers for a host of its own: two on one
			// gateway host is a fault (see fault 12).
			model.Expose = &mesh.Expose{Gateway: "gw"}
			switch gwHost := app.Gateways[0].Servers[0].Hosts[0]; gwHost {
			case "*.example.com":
				model.Expose.Hosts = []string{name + ".example.com"}
			case "*":
				if exposed > 0 || g.chance(0.5) {
					model.Expose.Hosts = []string{name + ".example.com"}
				}
			default:
				if exposed == 0 {
					model.Expose.Hosts = []string{gwHost}
				} else {
					model.Expose = nil
				}
			}
			if model.Expose != nil {
				exposed++
			}
		}
		app.Models = append(app.Models, model)
	}
	spec := Spec{App: app}
	if g.chance(0.45) {
		spec.Fault = g.fault(&spec.App)
	}
	return spec
}

// fault breaks the App in one way mlmesh must catch and names it.
func (g *Generator) fault(a *mesh.App) string {
	m := &a.Models[g.r.Intn(len(a.Models))]
	lastRule := func() *routing.Rule {
		if len(m.Traffic.Rules) == 0 {
			m.Traffic.Rules = []routing.Rule{{Split: []routing.Destination{{Subset: m.Versions[0].Name}}}}
		}
		return &m.Traffic.Rules[len(m.Traffic.Rules)-1]
	}
	switch g.r.Intn(13) {
	case 12:
		a.Gateways = []ingress.Spec{{Name: "gw", Servers: []ingress.Server{{Port: 80, Hosts: []string{"*"}}}}}
		m.Expose = &mesh.Expose{Gateway: "gw", Hosts: []string{"shared.example.com"}}
		a.Models = append(a.Models, mesh.Model{
			Model:  serving.Model{Name: "extra", Versions: []serving.Version{{Name: "v1", ModelURI: "s3://models/extra/1"}}},
			Expose: &mesh.Expose{Gateway: "gw", Hosts: []string{"shared.example.com"}},
		})
		return "two models answering for one gateway host"
	case 0:
		r := lastRule()
		r.Split = append(r.Split, routing.Destination{Subset: m.Versions[0].Name + "x", Weight: 0})
		if len(r.Split) == 2 {
			r.Split[0].Weight = 100
		}
		return "route to an unknown version"
	case 1:
		r := lastRule()
		r.Split = []routing.Destination{{Subset: m.Versions[0].Name, Weight: 60}, {Subset: m.Versions[0].Name, Weight: 30}}
		return "weights summing to 90"
	case 2:
		r := lastRule()
		r.Split = []routing.Destination{{Subset: m.Versions[0].Name, Weight: 110}, {Subset: m.Versions[len(m.Versions)-1].Name + "-b", Weight: -10}}
		return "negative weight"
	case 3:
		m.Versions = append(m.Versions, serving.Version{Name: m.Versions[0].Name})
		return "duplicate version"
	case 4:
		m.Name = g.pick("Model", "model_1", "-model", "a.b")
		return "invalid model name"
	case 5:
		r := lastRule()
		rule := routing.Rule{Match: []routing.Match{{Headers: map[string]routing.StringMatch{g.pick("x header", "X-Upper", "x:colon", ""): routing.Exact("a")}}}, Split: []routing.Destination{{Subset: m.Versions[0].Name}}}
		m.Traffic.Rules = append([]routing.Rule{rule}, *r)
		return "invalid header name"
	case 6:
		r := lastRule()
		rule := routing.Rule{Match: []routing.Match{{Headers: map[string]routing.StringMatch{"user-agent": routing.Regex(badRegexes[g.r.Intn(len(badRegexes))])}}}, Split: []routing.Destination{{Subset: m.Versions[0].Name}}}
		m.Traffic.Rules = append([]routing.Rule{rule}, *r)
		return "regex that is not RE2"
	case 7:
		m.Runtime = serving.Custom("img", serving.Port{Number: int32([]int{0, 65536, 70000, -1}[g.r.Intn(4)])})
		return "port out of range"
	case 8:
		m.Runtime = serving.Custom("img", serving.Port{Number: 8080}, serving.Port{Number: 8080, Protocol: serving.GRPC})
		return "ports clashing"
	case 9:
		a.Gateways = []ingress.Spec{{Name: "gw", Servers: []ingress.Server{{Port: 80, Hosts: []string{"models.example.com"}}}}}
		m.Expose = &mesh.Expose{Gateway: "gw", Hosts: []string{"other.example.org"}}
		return "gateway host not covering the route host"
	case 10:
		m.Runtime = serving.Custom("", serving.Port{Number: 8080})
		return "empty image"
	default:
		m.Versions = nil
		m.Traffic.Rules = nil
		return "model with no versions"
	}
}
