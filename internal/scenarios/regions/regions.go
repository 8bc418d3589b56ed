// Package regions holds the multi-cluster scenario: one model served from
// clusters in two regions. It is apart from package scenarios so that the
// single-cluster examples do not link multicluster (and, through it, apply
// and client-go) into their programs.
package regions

import (
	"time"

	"github.com/mlmesh/mlmesh/mesh"
	"github.com/mlmesh/mlmesh/multicluster"
	"github.com/mlmesh/mlmesh/routing"
	"github.com/mlmesh/mlmesh/serving"
)

// Fleet is the fraud model (TF Serving, v1 stable and v2 at 10%) across
// three clusters of one mesh on two networks: eu-1 (europe-west1) and
// us-1 (us-east1) run v1, three replicas each; the canary cluster (in
// us-east1, on us-1's network) runs v2. Requests stay in their region
// while it has healthy pods and fail over between the two regions.
func Fleet() (mesh.App, multicluster.Fleet) {
	replicas := int32(2)
	app := mesh.App{
		Namespace: mesh.Namespace{Name: "fraud", MTLS: mesh.MTLSStrict},
		Models: []mesh.Model{{
			Model: serving.Model{Name: "fraud", Versions: []serving.Version{
				{Name: "v1", ModelURI: "s3://models/fraud/1", Replicas: &replicas},
				{Name: "v2", ModelURI: "s3://models/fraud/2", Replicas: &replicas},
			}},
			Traffic: mesh.Traffic{
				Rules: []routing.Rule{{Split: routing.SplitOf(map[string]int32{"v1": 90, "v2": 10})}},
				Policy: &routing.TrafficPolicy{
					OutlierDetection: &routing.OutlierDetection{Consecutive5xxErrors: 5, Interval: 10 * time.Second, BaseEjectionTime: 30 * time.Second},
					LoadBalancer: &routing.LoadBalancer{Failover: []routing.LocalityFailover{
						{From: "europe-west1", To: "us-east1"}, {From: "us-east1", To: "europe-west1"},
					}},
				},
			},
		}},
	}
	return app, multicluster.Fleet{
		Clusters: []multicluster.Cluster{
			{Name: "eu-1", Network: "net-eu", Region: "europe-west1"},
			{Name: "us-1", Network: "net-us", Region: "us-east1"},
			{Name: "canary", Network: "net-us", Region: "us-east1"},
		},
		Placement: []multicluster.Placement{
			{Model: "fraud", Version: "v1", Replicas: map[string]int32{"eu-1": 3, "us-1": 3}},
			{Model: "fraud", Version: "v2", Replicas: map[string]int32{"canary": 1}},
		},
	}
}
