// Package apply puts Kubernetes objects into a cluster with server-side
// apply, safely and cheaply: in render's frozen make-before-break order,
// rank by rank, reporting per object what happened, and sending only what
// differs from the live objects.
//
// The smallest use:
//
//	c, err := dynamicapply.NewForConfig(restConfig)
//	res, err := apply.Apply(ctx, c, objs, apply.Options{}) // field manager "mlmesh"
//	for _, r := range res.Objects {
//		fmt.Println(r) // "VirtualService ml/fraud configured"
//	}
//
// Apply applies objects; Transition moves a cluster from the objects applied
// before to the objects wanted now, safe at every step (a new version's
// workload and subset before any route sends it traffic, optionally waiting
// for its pods; a removed one's routes before its subset before its
// workload); Managed finds what mlmesh applied before in a namespace. A
// Cache kept between calls — or between processes, in a file (LoadCache,
// Save) — remembers which live objects were found as wanted.
//
// Everything goes through a Client, one interface composed of a Reader
// (Get, List), a Writer (Apply, Delete) and Schemas (the API server's
// schemas, with which objects already as wanted are not sent). A wrapper
// that embeds a Client and overrides some methods is still a whole Client.
// The adapters live in their own packages so that users who only render
// compile none of them: apply/dynamicapply (client-go's dynamic client),
// apply/crapply (controller-runtime) and apply/applytest (in memory, for
// tests).
package apply
