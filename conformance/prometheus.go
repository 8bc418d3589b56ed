package conformance

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/common/model"
)

// Prometheus is a Prometheus server on loopback scraping one target every
// second, as the rollout tests need: Debian's prometheus from ToolsDir.
type Prometheus struct {
	// URL is the HTTP API's address.
	URL    string
	dir    string
	args   []string
	cmd    *exec.Cmd
	logf   *os.File
	target string
}

// StartPrometheus starts Prometheus scraping target (host:port) every
// second and waits until it is ready.
func StartPrometheus(target string) (*Prometheus, error) {
	return StartPrometheusWith(target, PrometheusOptions{})
}

// PrometheusOptions are a test Prometheus's settings.
type PrometheusOptions struct {
	// Interval is the scrape and rule evaluation interval; 0 means a
	// second.
	Interval time.Duration
	// Rules, if set, is a rule file Prometheus loads.
	Rules []byte
	// More are further targets (host:port) to scrape.
	More []string
	// Clusters are further targets by cluster name, each scraped with the
	// label cluster="<name>": a global Prometheus over several clusters.
	Clusters map[string]string
}

// StartPrometheusWith starts Prometheus scraping target (host:port) with
// opts and waits until it is ready.
func StartPrometheusWith(target string, opts PrometheusOptions) (*Prometheus, error) {
	bin := filepath.Join(ToolsDir(), "prometheus")
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("no prometheus in %s (run internal/tools/install.sh): %w", ToolsDir(), err)
	}
	dir, err := os.MkdirTemp("", "mlmesh-prometheus-")
	if err != nil {
		return nil, err
	}
	ports, err := freePorts(1)
	if err != nil {
		return nil, err
	}
	if opts.Interval <= 0 {
		opts.Interval = time.Second
	}
	iv := model.Duration(opts.Interval).String()
	config := fmt.Sprintf(`global:
  scrape_interval: %s
  evaluation_interval: %s
scrape_configs:
- job_name: istio-mesh
  static_configs:
  - targets: [%s]
`, iv, iv, strings.Join(quoted(append([]string{target}, opts.More...)), ", "))
	for _, c := range slices.Sorted(maps.Keys(opts.Clusters)) {
		config += fmt.Sprintf("  - targets: [%q]\n    labels: {cluster: %q}\n", opts.Clusters[c], c)
	}
	if opts.Rules != nil {
		if err := os.WriteFile(filepath.Join(dir, "rules.yaml"), opts.Rules, 0o644); err != nil {
			return nil, err
		}
		config += "rule_files: [rules.yaml]\n"
	}
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(config), 0o644); err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", ports[0])
	p := &Prometheus{URL: "http://" + addr, dir: dir, target: target, args: []string{
		"--config.file=" + filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path=" + filepath.Join(dir, "data"),
		"--web.listen-address=" + addr,
	}}
	if p.logf, err = os.Create(filepath.Join(dir, "prometheus.log")); err != nil {
		return nil, err
	}
	return p, p.start(bin)
}

func (p *Prometheus) start(bin string) error {
	p.cmd = exec.Command(bin, p.args...)
	p.cmd.Stdout, p.cmd.Stderr = p.logf, p.logf
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		return err
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(p.URL + "/-/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	log, _ := os.ReadFile(p.logf.Name())
	return fmt.Errorf("prometheus not ready after 30s:\n%s", tail(string(log), 2000))
}

// Stop stops Prometheus and waits for it to exit.
func (p *Prometheus) Stop() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-done
	}
	p.cmd = nil
}

// Close stops Prometheus and removes its data.
func (p *Prometheus) Close() {
	p.Stop()
	p.logf.Close()
	os.RemoveAll(p.dir)
}

// Up reports whether Prometheus has scraped its target successfully.
func (p *Prometheus) Up(ctx context.Context) bool {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.URL+"/api/v1/query?query=up", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return strings.Contains(string(b), `,"1"]`)
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// Traffic is what one version of a model receives and answers, for the
// IstioExporter: requests a second, the share answered 503, and the
// latency of every request.
type Traffic struct {
	RPS        float64
	ErrorRatio float64
	Latency    time.Duration
	// GRPC makes the requests gRPC calls: the failed share is answered
	// HTTP 200 with gRPC status 14 (UNAVAILABLE), as a gRPC server fails.
	GRPC bool
}

// IstioExporter serves Istio's standard metrics (istio_requests_total and
// the istio_request_duration_milliseconds histogram with Istio's buckets)
// as the destination's sidecar reports them, for versions whose traffic a
// test sets and changes while a rollout runs. Counters grow with time at
// the rates set.
type IstioExporter struct {
	mu        sync.Mutex
	versions  map[exportKey]*exported
	reporters map[string]string // by namespace; "destination" when unset
	llm       map[exportKey]*llmExported
	servers   map[exportKey]*serverExported
	revisions map[exportKey]*revisionExported
	srv       *http.Server
	// Addr is host:port of the /metrics endpoint.
	Addr string
}

// exportKey is one version's series: as its destination (or waypoint)
// reports them, or, with source set, as the source workload (a gateway)
// does.
type exportKey struct{ namespace, model, version, source string }

type exported struct {
	Traffic
	at               time.Time
	ok, failed       float64
	buckets          []float64 // cumulative counts per Istio bucket
	sumMs, countReqs float64
}

// istioBuckets are the bounds of istio_request_duration_milliseconds.
var istioBuckets = []float64{0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000}

// StartIstioExporter serves the metrics on a free loopback port.
func StartIstioExporter() (*IstioExporter, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	e := &IstioExporter{versions: map[exportKey]*exported{}, reporters: map[string]string{}, Addr: l.Addr().String()}
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics", e.serve)
	e.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go e.srv.Serve(l)
	return e, nil
}

// Close stops serving.
func (e *IstioExporter) Close() { e.srv.Close() }

// SetReporter makes the namespace's series report as reporter:
// "waypoint" for an ambient namespace, whose waypoint reports instead of
// sidecars.
func (e *IstioExporter) SetReporter(namespace, reporter string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.reporters[namespace] = reporter
}

// Set changes what a version receives from now on.
func (e *IstioExporter) Set(namespace, model, version string, t Traffic) {
	e.set(exportKey{namespace, model, version, ""}, t)
}

// SetSource changes what a version receives from the source workload (a
// gateway: its series are reported as reporter="source").
func (e *IstioExporter) SetSource(namespace, model, version, source string, t Traffic) {
	e.set(exportKey{namespace, model, version, source}, t)
}

func (e *IstioExporter) set(k exportKey, t Traffic) {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := time.Now()
	v := e.versions[k]
	if v == nil {
		v = &exported{at: now, buckets: make([]float64, len(istioBuckets))}
		e.versions[k] = v
	}
	v.advance(now)
	v.Traffic = t
}

// advance adds the requests since the last update at the current rates.
func (v *exported) advance(now time.Time) {
	n := v.RPS * now.Sub(v.at).Seconds()
	v.at = now
	if n <= 0 {
		return
	}
	v.failed += n * v.ErrorRatio
	v.ok += n * (1 - v.ErrorRatio)
	ms := float64(v.Latency) / float64(time.Millisecond)
	for i, le := range istioBuckets {
		if ms <= le {
			v.buckets[i] += n
		}
	}
	v.sumMs += n * ms
	v.countReqs += n
}

func (e *IstioExporter) serve(w http.ResponseWriter, _ *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := time.Now()
	keys := sortedKeys(e.versions)
	var b strings.Builder
	b.WriteString("# TYPE istio_requests_total counter\n")
	for _, k := range keys {
		v := e.versions[k]
		v.advance(now)
		// As a proxy does, a series exists once a request got its code.
		okCode, failedCode := `response_code="200"`, `response_code="503"`
		if v.GRPC {
			okCode, failedCode = `response_code="200",grpc_response_status="0"`, `response_code="200",grpc_response_status="14"`
		}
		if v.ok > 0 {
			fmt.Fprintf(&b, "istio_requests_total{%s,%s} %g\n", e.labels(k), okCode, v.ok)
		}
		if v.failed > 0 {
			fmt.Fprintf(&b, "istio_requests_total{%s,%s} %g\n", e.labels(k), failedCode, v.failed)
		}
	}
	b.WriteString("# TYPE istio_request_duration_milliseconds histogram\n")
	for _, k := range keys {
		v := e.versions[k]
		for i, le := range istioBuckets {
			fmt.Fprintf(&b, "istio_request_duration_milliseconds_bucket{%s,le=\"%g\"} %g\n", e.labels(k), le, v.buckets[i])
		}
		fmt.Fprintf(&b, "istio_request_duration_milliseconds_bucket{%s,le=\"+Inf\"} %g\n", e.labels(k), v.countReqs)
		fmt.Fprintf(&b, "istio_request_duration_milliseconds_sum{%s} %g\n", e.labels(k), v.sumMs)
		fmt.Fprintf(&b, "istio_request_duration_milliseconds_count{%s} %g\n", e.labels(k), v.countReqs)
	}
	e.serveLLM(&b, now)
	e.serveServers(&b, now)
	e.serveRevisions(&b, now)
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	fmt.Fprint(w, b.String())
}

// labels are the labels a destination sidecar (or a waypoint) puts on a
// version's series.
func (e *IstioExporter) labels(k exportKey) string {
	reporter, source := e.reporters[k.namespace], "loadgen"
	if reporter == "" {
		reporter = "destination"
	}
	if k.source != "" {
		reporter, source = "source", k.source
	}
	return fmt.Sprintf(`reporter=%q,destination_app=%q,source_workload=%q,source_workload_namespace="clients",destination_workload=%q,destination_workload_namespace=%q,destination_version=%q,destination_service=%q,destination_service_name=%q,request_protocol="http"`, reporter, k.model, source,
		k.model+"-"+k.version, k.namespace, k.version, k.model+"."+k.namespace+".svc.cluster.local", k.model)
}

func quoted(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strconv.Quote(s)
	}
	return out
}

// LLMFigures are what a version's LLM server (vLLM) reports, for the
// exporter: requests running and waiting, KV-cache use (a fraction),
// tokens generated a second, and the time to first token and between
// tokens of every request, at RPS requests a second.
type LLMFigures struct {
	Running, Waiting, KVCache, TokensPerSec, RPS float64
	TTFT, ITL                                    time.Duration
	// SGLang serves SGLang's metric names instead of vLLM's.
	SGLang bool
}

// llmNames are the metric names an LLM server exports, as this exporter
// writes them (stated here, not taken from the code under test): running,
// waiting, KV cache, tokens, and the two latency histograms.
var llmNames = map[bool][6]string{
	false: {"vllm:num_requests_running", "vllm:num_requests_waiting", "vllm:kv_cache_usage_perc", "vllm:generation_tokens_total",
		"vllm:time_to_first_token_seconds", "vllm:inter_token_latency_seconds"},
	true: {"sglang:num_running_reqs", "sglang:num_queue_reqs", "sglang:token_usage", "sglang:generation_tokens_total",
		"sglang:time_to_first_token_seconds", "sglang:inter_token_latency_seconds"},
}

type llmExported struct {
	LLMFigures
	at               time.Time
	tokens, requests float64
	ttftSum, itlSum  float64
}

// vllmBuckets are bounds of vLLM's latency histograms, in seconds.
var vllmBuckets = []float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// SetLLM makes the exporter serve vLLM's metrics for a version, as
// Prometheus would scrape them from its pod (namespace and pod labels, the
// pod named <model>-<version>-<replica set>-<id>).
func (e *IstioExporter) SetLLM(namespace, model, version string, f LLMFigures) {
	e.mu.Lock()
	defer e.mu.Unlock()
	v := advanced(&e.llm, exportKey{namespace: namespace, model: model, version: version}, func(now time.Time) *llmExported { return &llmExported{at: now} })
	v.LLMFigures = f
}

// advanced is m's entry for k, made when missing, with its counters
// advanced to now at the rates it had.
func advanced[T interface{ advance(time.Time) }](m *map[exportKey]T, k exportKey, mk func(time.Time) T) T {
	now := time.Now()
	if *m == nil {
		*m = map[exportKey]T{}
	}
	v, ok := (*m)[k]
	if !ok {
		v = mk(now)
		(*m)[k] = v
	}
	v.advance(now)
	return v
}

// sortedKeys are m's keys in a fixed order, for stable output.
func sortedKeys[T any](m map[exportKey]T) []exportKey {
	keys := make([]exportKey, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return fmt.Sprint(keys[i]) < fmt.Sprint(keys[j]) })
	return keys
}

// SetServer makes the exporter serve a model server's own metrics for a
// version, as scraped from its pod: Triton's queue and compute time
// counters, and TF Serving's request and runtime latency histograms,
// at RPS requests a second of queue and compute time each.
func (e *IstioExporter) SetServer(namespace, model, version string, rps float64, queue, compute time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	v := advanced(&e.servers, exportKey{namespace: namespace, model: model, version: version}, func(now time.Time) *serverExported { return &serverExported{at: now} })
	v.rps, v.queue, v.compute = rps, queue, compute
}

type serverExported struct {
	at                        time.Time
	rps                       float64
	queue, compute            time.Duration
	requests, queueUs, compUs float64
}

func (v *serverExported) advance(now time.Time) {
	n := v.rps * now.Sub(v.at).Seconds()
	v.at = now
	v.requests += n
	v.queueUs += n * float64(v.queue.Microseconds())
	v.compUs += n * float64(v.compute.Microseconds())
}

// tfBuckets are bounds of TF Serving's latency histograms, in µs.
var tfBuckets = []float64{1000, 5000, 10000, 50000, 100000, 500000, 1e6}

func (e *IstioExporter) serveServers(b *strings.Builder, now time.Time) {
	for _, k := range sortedKeys(e.servers) {
		v := e.servers[k]
		v.advance(now)
		l := fmt.Sprintf(`namespace=%q,pod=%q`, k.namespace, k.model+"-"+k.version+"-7d9f8c6b5-x2x9z")
		fmt.Fprintf(b, "nv_inference_request_success{%s,model=%q,version=\"1\"} %g\nnv_inference_queue_duration_us{%s,model=%q,version=\"1\"} %g\nnv_inference_compute_infer_duration_us{%s,model=%q,version=\"1\"} %g\n",
			l, k.model, v.requests, l, k.model, v.queueUs, l, k.model, v.compUs)
		for _, h := range []struct {
			name string
			each time.Duration
		}{{":tensorflow:serving:request_latency", v.queue + v.compute}, {":tensorflow:serving:runtime_latency", v.compute}} {
			for _, le := range tfBuckets {
				n := 0.0
				if float64(h.each.Microseconds()) <= le {
					n = v.requests
				}
				fmt.Fprintf(b, "%s_bucket{%s,model_name=%q,le=\"%g\"} %g\n", h.name, l, k.model, le, n)
			}
			fmt.Fprintf(b, "%s_bucket{%s,model_name=%q,le=\"+Inf\"} %g\n", h.name, l, k.model, v.requests)
		}
	}
}

func (v *llmExported) advance(now time.Time) {
	dt := now.Sub(v.at).Seconds()
	v.at = now
	v.tokens += v.TokensPerSec * dt
	n := v.RPS * dt
	v.requests += n
	v.ttftSum += n * v.TTFT.Seconds()
	v.itlSum += n * v.ITL.Seconds()
}

func (e *IstioExporter) serveLLM(b *strings.Builder, now time.Time) {
	for _, k := range sortedKeys(e.llm) {
		v := e.llm[k]
		v.advance(now)
		l := fmt.Sprintf(`namespace=%q,pod=%q,model_name=%q`, k.namespace, k.model+"-"+k.version+"-7d9f8c6b5-x2x9z", k.model)
		n := llmNames[v.SGLang]
		fmt.Fprintf(b, "%s{%s} %g\n%s{%s} %g\n%s{%s} %g\n%s{%s} %g\n",
			n[0], l, v.Running, n[1], l, v.Waiting, n[2], l, v.KVCache, n[3], l, v.tokens)
		latencyHistogram(b, n[4], l, v.TTFT, v.requests, v.ttftSum)
		latencyHistogram(b, n[5], l, v.ITL, v.requests, v.itlSum)
	}
}

// RevisionFigures are what the Inference Extension's endpoint picker
// reports of the requests it sends as one revision of an adapter, for the
// exporter: RPS of them, ErrorRatio failing, each taking TTFT to its first
// token and Duration in all.
type RevisionFigures struct {
	RPS, ErrorRatio float64
	TTFT, Duration  time.Duration
}

type revisionExported struct {
	RevisionFigures
	adapter              string
	at                   time.Time
	requests, errors     float64
	ttftSum, durationSum float64
}

func (v *revisionExported) advance(now time.Time) {
	dt := now.Sub(v.at).Seconds()
	v.at = now
	n := v.RPS * dt
	v.requests += n
	v.errors += n * v.ErrorRatio
	v.ttftSum += n * v.TTFT.Seconds()
	v.durationSum += n * v.Duration.Seconds()
}

// SetRevision makes the exporter serve the endpoint picker's metrics of
// the requests for adapter sent as revision, as Prometheus would scrape
// them from the picker's pod in namespace (the names of the Inference
// Extension v1.5's picker, stated here: inference_objective_request_total,
// _error_total, _ttft_seconds and _duration_seconds, by model_name and
// target_model_name).
func (e *IstioExporter) SetRevision(namespace, adapter, revision string, f RevisionFigures) {
	e.mu.Lock()
	defer e.mu.Unlock()
	v := advanced(&e.revisions, exportKey{namespace: namespace, model: adapter, version: revision}, func(now time.Time) *revisionExported {
		return &revisionExported{at: now, adapter: adapter}
	})
	v.RevisionFigures = f
}

func (e *IstioExporter) serveRevisions(b *strings.Builder, now time.Time) {
	for _, k := range sortedKeys(e.revisions) {
		v := e.revisions[k]
		v.advance(now)
		l := fmt.Sprintf(`namespace=%q,pod="qwen-v1-epp-6c9d8b7f4-k2x8p",model_name=%q,target_model_name=%q`, k.namespace, k.model, k.version)
		fmt.Fprintf(b, "inference_objective_request_total{%s,priority=\"0\"} %g\ninference_objective_request_error_total{%s,error_code=\"500\"} %g\n", l, v.requests, l, v.errors)
		latencyHistogram(b, "inference_objective_request_ttft_seconds", l, v.TTFT, v.requests, v.ttftSum)
		latencyHistogram(b, "inference_objective_request_duration_seconds", l, v.Duration, v.requests, v.durationSum)
	}
}

// latencyHistogram writes a histogram (seconds, vLLM's buckets) of n
// requests, each taking each, summing sum.
func latencyHistogram(b *strings.Builder, name, labels string, each time.Duration, n, sum float64) {
	for _, le := range vllmBuckets {
		c := 0.0
		if each.Seconds() <= le {
			c = n
		}
		fmt.Fprintf(b, "%s_bucket{%s,le=\"%g\"} %g\n", name, labels, le, c)
	}
	fmt.Fprintf(b, "%s_bucket{%s,le=\"+Inf\"} %g\n%s_sum{%s} %g\n%s_count{%s} %g\n", name, labels, n, name, labels, sum, name, labels, n)
}
