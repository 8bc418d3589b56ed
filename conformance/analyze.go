package conformance

import (
	"bytes"
	"fmt"

	"istio.io/istio/pkg/config/analysis/analyzers"
	"istio.io/istio/pkg/config/analysis/diag"
	"istio.io/istio/pkg/config/analysis/local"
	"istio.io/istio/pkg/config/resource"
)

// IngressGatewayFixture is Istio's default ingress gateway as a cluster has
// it: its pods (labelled istio=ingressgateway) and Service, with the ports
// the examples' Gateways use. The analyzers check Gateways against it, as
// istioctl analyze does against a live cluster.
const IngressGatewayFixture = `apiVersion: v1
kind: Namespace
metadata:
  name: istio-system
---
apiVersion: v1
kind: Service
metadata:
  name: istio-ingressgateway
  namespace: istio-system
  labels:
    istio: ingressgateway
spec:
  selector:
    istio: ingressgateway
  ports:
  - name: http2
    port: 80
    targetPort: 8080
  - name: https
    port: 443
    targetPort: 8443
  - name: tcp
    port: 31400
    targetPort: 31400
---
apiVersion: v1
kind: Pod
metadata:
  name: istio-ingressgateway-0
  namespace: istio-system
  labels:
    istio: ingressgateway
    app: istio-ingressgateway
spec:
  containers:
  - name: istio-proxy
    image: docker.io/istio/proxyv2:1.31.1
    ports:
    - containerPort: 8080
    - containerPort: 8443
    - containerPort: 31400
`

// Analyze runs all of Istio's analyzers on the YAML streams, with the
// runtime objects (Namespaces, Services, Pods) included, as against a
// cluster holding them. It returns every message.
func Analyze(namespace string, streams ...[]byte) (diag.Messages, error) {
	sa := local.NewSourceAnalyzer(analyzers.AllCombined(), resource.Namespace(namespace), "istio-system", nil)
	var readers []local.ReaderSource
	for i, s := range streams {
		readers = append(readers, local.ReaderSource{Name: fmt.Sprintf("stream-%d", i), Reader: bytes.NewReader(s)})
	}
	// The first reader source fixes the kinds read: add the bundle (with
	// its runtime kinds) before the defaults, or Namespaces, Services and
	// Pods are dropped and the analyzers that need them are skipped.
	if err := sa.AddTestReaderKubeSource(readers); err != nil {
		return nil, err
	}
	if err := sa.AddDefaultResources(); err != nil {
		return nil, err
	}
	// Closing cancel stops the analyzer's collections; left open, each
	// call leaves a score of goroutines behind (the fuzz targets make
	// thousands of calls).
	cancel := make(chan struct{})
	defer close(cancel)
	res, err := sa.Analyze(cancel)
	if err != nil {
		return nil, err
	}
	if len(res.SkippedAnalyzers) > 0 {
		return nil, fmt.Errorf("analyzers skipped for want of input: %v", res.SkippedAnalyzers)
	}
	return res.Messages, nil
}
