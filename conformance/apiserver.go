package conformance

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/openapi"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"

	"github.com/mlmesh/mlmesh/apply"
	"github.com/mlmesh/mlmesh/apply/dynamicapply"
	"github.com/mlmesh/mlmesh/internal/typeconv"
)

// ToolsDir is where internal/tools/install.sh puts etcd, kube-apiserver and
// kubectl: $MLMESH_TOOLS, or ~/.cache/mlmesh/tools.
func ToolsDir() string {
	if d := os.Getenv("MLMESH_TOOLS"); d != "" {
		return d
	}
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "mlmesh", "tools")
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".cache", "mlmesh", "tools")
}

// APIServer is an etcd and a kube-apiserver running on loopback for tests.
type APIServer struct {
	Config     *rest.Config
	Dynamic    dynamic.Interface
	Mapper     meta.RESTMapper
	OpenAPI    openapi.Client
	dir        string
	etcd       *exec.Cmd
	apisrv     *exec.Cmd
	apisrvArgs []string
	bin        string
	logf       *os.File
	// Log holds the servers' output, for failure messages.
	Log string
}

// StartAPIServer starts etcd and kube-apiserver from ToolsDir on free
// loopback ports and waits until the API server is ready.
func StartAPIServer() (*APIServer, error) {
	bin := ToolsDir()
	for _, b := range []string{"etcd", "kube-apiserver"} {
		if _, err := os.Stat(filepath.Join(bin, b)); err != nil {
			return nil, fmt.Errorf("%s not found in %s: run internal/tools/install.sh: %w", b, bin, err)
		}
	}
	dir, err := os.MkdirTemp("", "mlmesh-apiserver-")
	if err != nil {
		return nil, err
	}
	s := &APIServer{dir: dir, Log: filepath.Join(dir, "log")}
	logf, err := os.Create(s.Log)
	if err != nil {
		return nil, err
	}
	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	client, peer, secure := ports[0], ports[1], ports[2]
	s.etcd = exec.Command(filepath.Join(bin, "etcd"),
		"--name=default", "--data-dir="+filepath.Join(dir, "etcd"),
		fmt.Sprintf("--listen-client-urls=http://127.0.0.1:%d", client),
		fmt.Sprintf("--advertise-client-urls=http://127.0.0.1:%d", client),
		fmt.Sprintf("--listen-peer-urls=http://127.0.0.1:%d", peer),
		fmt.Sprintf("--initial-advertise-peer-urls=http://127.0.0.1:%d", peer),
		fmt.Sprintf("--initial-cluster=default=http://127.0.0.1:%d", peer),
		"--unsafe-no-fsync")
	s.etcd.Stdout, s.etcd.Stderr = logf, logf
	s.etcd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := s.etcd.Start(); err != nil {
		return nil, fmt.Errorf("starting etcd: %w", err)
	}
	token, err := s.writeCredentials()
	if err != nil {
		s.Stop()
		return nil, err
	}
	s.apisrvArgs = []string{
		fmt.Sprintf("--etcd-servers=http://127.0.0.1:%d", client),
		"--bind-address=127.0.0.1", fmt.Sprintf("--secure-port=%d", secure),
		"--cert-dir=" + filepath.Join(dir, "certs"),
		"--service-cluster-ip-range=10.96.0.0/16",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + filepath.Join(dir, "sa.pub"),
		"--service-account-signing-key-file=" + filepath.Join(dir, "sa.key"),
		"--token-auth-file=" + filepath.Join(dir, "tokens.csv"),
		"--authorization-mode=AlwaysAllow", "--anonymous-auth=false",
		"--enable-priority-and-fairness=false", "--disable-admission-plugins=ServiceAccount",
		"--endpoint-reconciler-type=none"}
	s.bin, s.logf = bin, logf
	if err := s.startAPIServer(); err != nil {
		s.Stop()
		return nil, err
	}
	s.Config = &rest.Config{
		Host:            fmt.Sprintf("https://127.0.0.1:%d", secure),
		BearerToken:     token,
		TLSClientConfig: rest.TLSClientConfig{Insecure: true},
		QPS:             500, Burst: 1000,
	}
	if err := s.waitReady(90 * time.Second); err != nil {
		s.Stop()
		return nil, err
	}
	if s.Dynamic, err = dynamic.NewForConfig(s.Config); err != nil {
		s.Stop()
		return nil, err
	}
	dc, err := discovery.NewDiscoveryClientForConfig(s.Config)
	if err != nil {
		s.Stop()
		return nil, err
	}
	s.Mapper = restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
	s.OpenAPI = dc.OpenAPIV3()
	return s, nil
}

func (s *APIServer) startAPIServer() error {
	s.apisrv = exec.Command(filepath.Join(s.bin, "kube-apiserver"), s.apisrvArgs...)
	s.apisrv.Stdout, s.apisrv.Stderr = s.logf, s.logf
	s.apisrv.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := s.apisrv.Start(); err != nil {
		return fmt.Errorf("starting kube-apiserver: %w", err)
	}
	go func(c *exec.Cmd) { _ = c.Wait() }(s.apisrv)
	return nil
}

// StopAPIServer stops kube-apiserver alone (etcd keeps the state) and waits
// until its port is free.
func (s *APIServer) StopAPIServer() {
	if s.apisrv == nil || s.apisrv.Process == nil {
		return
	}
	_ = s.apisrv.Process.Signal(syscall.SIGTERM)
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", strings.TrimPrefix(s.Config.Host, "https://"), 200*time.Millisecond); err != nil {
			break
		} else {
			c.Close()
		}
		time.Sleep(100 * time.Millisecond)
	}
	_ = s.apisrv.Process.Kill()
	time.Sleep(500 * time.Millisecond)
}

// RestartAPIServer starts kube-apiserver again on the same port and etcd.
func (s *APIServer) RestartAPIServer() error {
	if err := s.startAPIServer(); err != nil {
		return err
	}
	return s.waitReady(90 * time.Second)
}

// Kubeconfig writes a kubeconfig for the server and returns its path.
func (s *APIServer) Kubeconfig() (string, error) {
	path := filepath.Join(s.dir, "kubeconfig")
	cfg := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: %s
    insecure-skip-tls-verify: true
users:
- name: admin
  user:
    token: %s
contexts:
- name: test
  context:
    cluster: test
    user: admin
current-context: test
`, s.Config.Host, s.Config.BearerToken)
	return path, os.WriteFile(path, []byte(cfg), 0o600)
}

// Tail returns the end of the servers' log.
func (s *APIServer) Tail() string {
	b, _ := os.ReadFile(s.Log)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

func (s *APIServer) writeCredentials() (string, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", err
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(s.dir, "sa.key"), pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(s.dir, "sa.pub"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o600); err != nil {
		return "", err
	}
	buf := make([]byte, 16)
	if _, err := rand.Read(buf); err != nil {
		return "", err
	}
	token := fmt.Sprintf("%x", buf)
	return token, os.WriteFile(filepath.Join(s.dir, "tokens.csv"), []byte(token+",admin,admin,system:masters\n"), 0o600)
}

func (s *APIServer) waitReady(timeout time.Duration) error {
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		req, _ := http.NewRequest("GET", s.Config.Host+"/readyz", nil)
		req.Header.Set("Authorization", "Bearer "+s.Config.BearerToken)
		if resp, err := hc.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
	return fmt.Errorf("kube-apiserver not ready after %s:\n%s", timeout, s.Tail())
}

// Stop ends both processes, waits for them, and removes their files.
func (s *APIServer) Stop() {
	s.StopAPIServer()
	if c := s.etcd; c != nil && c.Process != nil {
		_ = c.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = c.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = c.Process.Kill()
			<-done
		}
	}
	os.RemoveAll(s.dir)
}

func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// InstallCRDs creates the CRDs of a YAML stream and waits until they are
// established and served.
func (s *APIServer) InstallCRDs(ctx context.Context, stream []byte) error {
	b, err := ParseBundle("crds", stream)
	if err != nil {
		return err
	}
	crdGVR := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	var names []string
	for _, o := range b.Objects {
		if o.GetKind() != "CustomResourceDefinition" {
			continue
		}
		if _, err := s.Dynamic.Resource(crdGVR).Create(ctx, o, metav1.CreateOptions{}); err != nil && !strings.Contains(err.Error(), "already exists") {
			return fmt.Errorf("creating CRD %s: %w", o.GetName(), err)
		}
		names = append(names, o.GetName())
	}
	deadline := time.Now().Add(60 * time.Second)
	for _, n := range names {
		for {
			u, err := s.Dynamic.Resource(crdGVR).Get(ctx, n, metav1.GetOptions{})
			if err == nil && established(u) {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("CRD %s not established", n)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	// Let discovery catch up before mapping kinds.
	for {
		if _, err := s.Mapper.RESTMapping(schema.GroupKind{Group: "networking.istio.io", Kind: "VirtualService"}, "v1"); err == nil {
			break
		}
		if r, ok := s.Mapper.(interface{ Reset() }); ok {
			r.Reset()
		}
		if time.Now().After(deadline) {
			return errors.New("Istio kinds not served")
		}
		time.Sleep(200 * time.Millisecond)
	}
	// And the OpenAPI documents, which the server publishes some seconds
	// after a CRD is established: without them apply.Apply compares
	// nothing and sends every object, and a test would depend on the tests
	// run before it.
	var kinds []schema.GroupVersionKind
	for _, o := range b.Objects {
		group, _, _ := unstructured.NestedString(o.Object, "spec", "group")
		kind, _, _ := unstructured.NestedString(o.Object, "spec", "names", "kind")
		versions, _, _ := unstructured.NestedSlice(o.Object, "spec", "versions")
		for _, v := range versions {
			m, _ := v.(map[string]any)
			if name, _ := m["name"].(string); name != "" && m["served"] == true {
				kinds = append(kinds, schema.GroupVersionKind{Group: group, Version: name, Kind: kind})
			}
		}
	}
	for {
		err := schemasServed(ctx, s.OpenAPI, kinds)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the OpenAPI schemas of the CRDs are not published: %w", err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// schemasServed reports whether the server's OpenAPI v3 documents know
// every kind, as apply.Apply reads them.
func schemasServed(ctx context.Context, client openapi.Client, kinds []schema.GroupVersionKind) error {
	seen := map[schema.GroupVersion]bool{}
	var gvs []schema.GroupVersion
	for _, k := range kinds {
		if !seen[k.GroupVersion()] {
			seen[k.GroupVersion()] = true
			gvs = append(gvs, k.GroupVersion())
		}
	}
	tc, err := typeconv.New(client).TypeConverter(ctx, gvs)
	if err != nil {
		return err
	}
	for _, k := range kinds {
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(k)
		u.SetName("probe")
		if _, err := tc.ObjectToTyped(u); err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
	}
	return nil
}

func established(u *unstructured.Unstructured) bool {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] == "Established" && m["status"] == "True" {
			return true
		}
	}
	return false
}

// Apply server-side applies one object with field manager "mlmesh" and
// strict field validation, through mlmesh's own dynamic-client adapter, and
// returns the object the server stored.
func (s *APIServer) Apply(ctx context.Context, u *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	return dynamicapply.New(s.Dynamic, s.Mapper).Apply(ctx, u, apply.PatchOptions{FieldManager: apply.DefaultFieldManager})
}
