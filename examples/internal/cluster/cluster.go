// Package cluster gives the examples that reach a cluster their
// apply.Client: dynamicapply.NewForConfig on $KUBECONFIG, with the
// server's schemas so that objects already as wanted are not sent.
package cluster

import (
	"cmp"
	"fmt"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/mlmesh/mlmesh/apply/dynamicapply"
)

// Client reaches the cluster of $KUBECONFIG (or ~/.kube/config), as
// kubectl does.
func Client() (*dynamicapply.Client, error) {
	return ClientFor("")
}

// ClientFor reaches the cluster of the kubeconfig file path; "" is
// $KUBECONFIG's (or ~/.kube/config).
func ClientFor(path string) (*dynamicapply.Client, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if path != "" {
		rules.ExplicitPath = path
	}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("loading the cluster config (%s): %w", cmp.Or(path, "$KUBECONFIG"), err)
	}
	// client-go's default client-side limit (5 requests a second) would
	// pace a large App; the API server's priority and fairness still applies.
	cfg.QPS, cfg.Burst = 100, 200
	return dynamicapply.NewForConfig(cfg)
}
