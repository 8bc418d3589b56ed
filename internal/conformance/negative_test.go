package conformance

import (
	"strings"
	"testing"
)

// Each check must catch a deliberately broken bundle, so that none can pass
// by doing nothing.

const brokenSubset = `apiVersion: v1
kind: Namespace
metadata:
  name: neg
  labels:
    istio-injection: enabled
---
apiVersion: v1
kind: Service
metadata:
  name: m
  namespace: neg
spec:
  selector:
    app: m
  ports:
  - name: http
    port: 8080
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: m
  namespace: neg
spec:
  host: m.neg.svc.cluster.local
  subsets:
  - name: v1
    labels:
      version: v1
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: m
  namespace: neg
spec:
  hosts:
  - m.neg.svc.cluster.local
  http:
  - route:
    - destination:
        host: m.neg.svc.cluster.local
        subset: v2
`

func TestNegativeAnalyzerMissingSubset(t *testing.T) {
	msgs, err := Analyze("neg", []byte(brokenSubset), []byte(IngressGatewayFixture))
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, m := range msgs {
		t.Logf("analyzer: %s", m.String())
		if m.Type.Code() == "IST0101" && strings.Contains(m.String(), "v2") {
			found = true
		}
	}
	if !found {
		t.Error("the analyzers did not report the missing subset v2 (IST0101)")
	}
}
