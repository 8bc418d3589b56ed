package apply

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mlmesh/mlmesh/internal/order"
	"github.com/mlmesh/mlmesh/render"
)

// DefaultWorkers is how many objects of one rank Apply and Transition send
// at once when Options.Workers is 0: enough to keep a remote API
// server busy across its round trips, few enough to stay well inside its
// priority and fairness share.
const DefaultWorkers = 8

func (o Options) workers() int {
	if o.Workers <= 0 {
		return DefaultWorkers
	}
	return o.Workers
}

// run carries out steps: rank after rank in the order given, the steps of
// one rank by up to opts.Workers at once. At the first failure (or when ctx
// is done) no further step starts; the steps already under way finish, and
// the *Error names the first failed step in order. Progress is called
// in step order, from this goroutine, for every step that was attempted.
func run(ctx context.Context, c Client, steps []Action, opts Options, waitTimeout time.Duration) (Result, error) {
	res := Result{Objects: make([]ObjectResult, len(steps))}
	for i, s := range steps {
		gvk := s.Object.GetObjectKind().GroupVersionKind()
		res.Objects[i] = ObjectResult{Object: render.Describe(s.Object), Op: s.Op, Note: s.Note, GVK: gvk, Namespace: s.Object.GetNamespace(), Name: s.Object.GetName(), Outcome: NotAttempted, DryRun: opts.DryRun}
	}
	opts.FieldManager = opts.fieldManager()
	live := newLiveObjects(c)
	if !opts.SendAll {
		live.schemas(ctx, c, steps, opts.Cache != nil)
	}
	if ctx.Err() == nil {
		live.prefetch(ctx, steps, opts.workers())
		defer live.wait()
	}
	one := func(i int) error {
		s, r := steps[i], &res.Objects[i]
		if err := ctx.Err(); err != nil {
			return err
		}
		switch s.Op {
		case OpApply:
			return applyOne(ctx, c, live, s.Object, opts, r)
		case OpDelete:
			err := deleteOne(ctx, c, s.Object, opts, r)
			if err == nil && !opts.DryRun {
				live.gone(r)
				opts.Cache.forget(identity(s.Object))
			}
			return err
		case OpWait:
			return waitAvailable(ctx, c, opts, waitTimeout, r)
		}
		return nil
	}
	for start := 0; start < len(steps); {
		end := rankEnd(steps, start)
		if failed := runRank(res.Objects[start:end], opts, func(i int) error { return one(start + i) }); failed >= 0 {
			return res, &Error{Result: res, Failed: res.Objects[start+failed]}
		}
		start = end
	}
	return res, nil
}

// rankEnd returns the end of the run of steps from start that may be
// carried out at once: the same operation on objects of the same rank and
// kind, none of them twice (a DestinationRule widened and then narrowed is
// two steps that must stay in order).
func rankEnd(steps []Action, start int) int {
	first := steps[start]
	key := order.KeyOf(first.Object)
	seen := map[string]bool{identity(first.Object): true}
	end := start + 1
	for ; end < len(steps); end++ {
		s := steps[end]
		id := identity(s.Object)
		if s.Op != first.Op || !sameRank(key, order.KeyOf(s.Object)) || seen[id] {
			break
		}
		seen[id] = true
	}
	return end
}

// runRank carries out one rank's steps with up to opts.Workers at once and
// reports them to opts.Progress in order as soon as every step before them
// is reported. It returns the index of the first failed step, or -1.
func runRank(results []ObjectResult, opts Options, do func(i int) error) int {
	done := make(chan int, len(results))
	var stop atomic.Bool
	go func() {
		forEach(len(results), opts.workers(), func(i int) bool {
			if stop.Load() {
				return false
			}
			if err := do(i); err != nil {
				results[i].Outcome, results[i].Err = Failed, err
				stop.Store(true)
			}
			done <- i
			return true
		})
		close(done)
	}()
	finished := make([]bool, len(results))
	next, failed := 0, -1
	for i := range done {
		finished[i] = true
		for ; next < len(results) && finished[next]; next++ {
			report(results[next], opts, &failed, next)
		}
	}
	// After a failure some steps were never started: report the finished
	// ones that follow them, still in order.
	for ; next < len(results); next++ {
		if finished[next] {
			report(results[next], opts, &failed, next)
		}
	}
	return failed
}

func report(r ObjectResult, opts Options, failed *int, i int) {
	if r.Outcome == Failed && *failed < 0 {
		*failed = i
	}
	if opts.Progress != nil {
		opts.Progress(r)
	}
}

// forEach calls f(i) for i in 0..n-1 in order of i, with up to workers
// calls at once, until f returns false; it returns when every call has.
func forEach(n, workers int, f func(i int) bool) {
	if workers > n {
		workers = n
	}
	var next atomic.Int64
	var stopped atomic.Bool
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stopped.Load() {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if !f(i) {
					stopped.Store(true)
					return
				}
			}
		}()
	}
	wg.Wait()
}
