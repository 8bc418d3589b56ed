// Package routing synthesizes how traffic for one host reaches the versions
// behind it: a VirtualService holding the rules and a DestinationRule
// holding the subsets and traffic policy.
//
// The smallest use, a 90/10 canary:
//
//	spec := routing.Spec{
//		Name:    "resnet",
//		Host:    "resnet.ml.svc.cluster.local",
//		Ports:   []uint32{8501},
//		Subsets: []routing.Subset{{Name: "v1"}, {Name: "v2"}},
//		Rules: []routing.Rule{{
//			Split: []routing.Destination{{Subset: "v1", Weight: 90}, {Subset: "v2", Weight: 10}},
//		}},
//	}
//	vs, err := routing.VirtualService(spec)
//	dr, err := routing.DestinationRule(spec)
//
// Weights are integer percentages that must sum to exactly 100: Istio
// accepts 60/30 and Envoy silently turns it into 67/33, mlmesh does not. A
// weight of 0 keeps a version dark and is still written out. Rules are
// evaluated in order and only the last may match every request.
//
// A Spec validated once builds several objects through its Checked value
// (Check). Many Specs that share their rules and policy — a fleet's models
// routed alike — are checked by one Checker, which checks what they share
// once.
//
// Retries deserve a decision for inference: with Rule.Retries nil, Istio
// retries a failed request twice, so an expensive model call may run three
// times. Set &Retries{} to disable retries, or bound them.
package routing
