package observe

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mlmesh/mlmesh/rollout"
)

// RolloutCollector is a Prometheus collector of the rollouts a program
// runs, as Flagger exports flagger_canary_weight and flagger_canary_status
// for its canaries: register it with the program's registry, and hand each
// run's events to it (Watch). It exports, by namespace and model:
//
//	mlmesh_rollout_weight{version}       the share of traffic each version is given at the step, in percent
//	mlmesh_rollout_step{step, phase}     the index of the step the rollout is at (one series: the current step)
//	mlmesh_rollout_failed_analyses       the rollout's failed analyses so far
//	mlmesh_rollout_analyses_total{candidate, conclusion}   the analyses, by conclusion
//	mlmesh_rollout_status{candidate, status}   1 for the rollout's status: running, succeeded, rolled back
//
// The weights are the step's (rollout.Step.Weights): in a preview or
// shadow step the candidate's is 0 (it is given matching or mirrored
// requests only).
type RolloutCollector struct {
	mu       sync.Mutex
	rollouts map[[2]string]*rolloutState
	analyses *prometheus.CounterVec
}

type rolloutState struct {
	stable, candidate string
	step              rollout.Step
	failures          int
	status            string
}

var (
	weightDesc   = prometheus.NewDesc("mlmesh_rollout_weight", "The share of the model's traffic each version is given at the rollout's step, in percent.", []string{"namespace", "model", "version"}, nil)
	stepDesc     = prometheus.NewDesc("mlmesh_rollout_step", "The index of the step the rollout is at (0: the baseline).", []string{"namespace", "model", "step", "phase"}, nil)
	failuresDesc = prometheus.NewDesc("mlmesh_rollout_failed_analyses", "The rollout's failed analyses so far.", []string{"namespace", "model"}, nil)
	statusDesc   = prometheus.NewDesc("mlmesh_rollout_status", "1 for the rollout's status: running, succeeded or rolled back.", []string{"namespace", "model", "candidate", "status"}, nil)
)

// NewRolloutCollector returns a collector with no rollouts yet.
func NewRolloutCollector() *RolloutCollector {
	return &RolloutCollector{
		rollouts: map[[2]string]*rolloutState{},
		analyses: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mlmesh_rollout_analyses_total", Help: "The rollout's analyses, by conclusion."},
			[]string{"namespace", "model", "candidate", "conclusion"}),
	}
}

// Watch returns a Driver.Progress for a run of p that tells c of each
// event, then calls next (if any): d.Progress = c.Watch(plan, d.Progress).
func (c *RolloutCollector) Watch(p *rollout.Plan, next func(rollout.Event)) func(rollout.Event) {
	return func(e rollout.Event) {
		c.observe(p, e)
		if next != nil {
			next(e)
		}
	}
}

func (c *RolloutCollector) observe(p *rollout.Plan, e rollout.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := [2]string{p.Namespace, p.Model}
	s := c.rollouts[k]
	if s == nil || s.candidate != p.Candidate || s.stable != p.Stable {
		s = &rolloutState{stable: p.Stable, candidate: p.Candidate, step: p.Steps[0], status: "running"}
		c.rollouts[k] = s
	}
	switch e.Kind {
	case rollout.Applied, rollout.Resumed:
		s.step = e.Step
		switch {
		case e.Step.Index == len(p.Steps)-1:
			s.status = "succeeded"
		case e.Step.Index > 0:
			s.status = "running"
		}
	case rollout.Analysed:
		s.failures = e.Failures
		c.analyses.WithLabelValues(p.Namespace, p.Model, p.Candidate, string(e.Verdict.Result)).Inc()
	case rollout.RollingBack:
		s.failures, s.status = e.Failures, "rolled back"
	}
}

// Describe implements prometheus.Collector.
func (c *RolloutCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- weightDesc
	ch <- stepDesc
	ch <- failuresDesc
	ch <- statusDesc
	c.analyses.Describe(ch)
}

// Collect implements prometheus.Collector.
func (c *RolloutCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, s := range c.rollouts {
		ns, model := k[0], k[1]
		for _, v := range []string{s.stable, s.candidate} {
			if w, ok := s.step.Weights()[v]; ok {
				ch <- prometheus.MustNewConstMetric(weightDesc, prometheus.GaugeValue, float64(w), ns, model, v)
			}
		}
		ch <- prometheus.MustNewConstMetric(stepDesc, prometheus.GaugeValue, float64(s.step.Index), ns, model, s.step.Name(), string(s.step.Phase))
		ch <- prometheus.MustNewConstMetric(failuresDesc, prometheus.GaugeValue, float64(s.failures), ns, model)
		ch <- prometheus.MustNewConstMetric(statusDesc, prometheus.GaugeValue, 1, ns, model, s.candidate, s.status)
	}
	c.analyses.Collect(ch)
}
