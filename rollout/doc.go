// Package rollout is progressive delivery as a library: it plans the steps
// that take a model's traffic from a stable version to a candidate, and
// drives a cluster through them, analysing the candidate at each step and
// promoting it, or rolling it back, on what the analyses say.
//
// A plan is pure: NewPlan turns an App, a model, a candidate version and a
// Strategy into a sequence of whole, valid Apps — the baseline (the stable
// version takes everything, the candidate is deployed dark), an optional
// header preview, an optional shadow phase (mirrored traffic), the canary
// weights, promotion, and retirement of the stable version. It prints as
// readable steps (Plan.String) and writes as one directory per step for a
// GitOps repository (Plan.WriteDir).
//
// A Driver runs a plan through an apply.Client: every move between steps
// is an apply.Transition (make before break), each analysed step waits an
// interval and asks a Gate, and the run advances, holds (too little
// traffic), or rolls back to the baseline after a number of failed
// analyses (or of analyses that could not be made). The candidate gets
// traffic only once its Deployment is Available, and with
// Strategy.RetireAfter the stable version is retired only after a bake
// time. The driver keeps a record of each rollout in the cluster (Record,
// Status): a run resumes from it and the live objects, so failures count
// across restarts, a rolled-back candidate is not canaried again as it is,
// and routes another manager changed are rolled back, never promoted.
// Package rollout/promgate is a Gate on Istio's standard metrics in
// Prometheus, in every routing dialect (the sidecars', the Gateway API's,
// an ambient waypoint's reports).
//
// The smallest use:
//
//	plan, err := rollout.NewPlan(app, "fraud", "v2", rollout.Strategy{Steps: []int32{10, 50}})
//	api, err := promgate.NewAPI("http://prometheus.istio-system:9090")
//	gate, err := promgate.New(api, promgate.Options{Window: time.Minute},
//		promgate.SuccessRate(99), promgate.Latency(0.99, 500*time.Millisecond))
//	d := rollout.Driver{Client: client, Gate: gate, Interval: time.Minute, Failures: 2}
//	report, err := d.Run(ctx, plan) // report.Outcome: rollout.Succeeded or rollout.RolledBack
package rollout
