package rollout_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mlmesh/mlmesh/apply/applytest"
	"github.com/mlmesh/mlmesh/rollout"
	"github.com/mlmesh/mlmesh/rollout/webhook"
)

// hookServer is a real HTTP server standing for the services teams run
// for Flagger: it records every payload by path, and answers each path
// with the statuses a test queued for it (then 200).
type hookServer struct {
	*httptest.Server
	mu       sync.Mutex
	calls    []string // "path phase step"
	payloads []webhook.Payload
	answers  map[string][]int
}

func newHookServer(t *testing.T) *hookServer {
	h := &hookServer{answers: map[string][]int{}}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p webhook.Payload
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" || json.NewDecoder(r.Body).Decode(&p) != nil {
			http.Error(w, "want a JSON POST", http.StatusBadRequest)
			return
		}
		h.mu.Lock()
		defer h.mu.Unlock()
		h.calls = append(h.calls, strings.TrimPrefix(r.URL.Path, "/")+" "+p.Phase)
		h.payloads = append(h.payloads, p)
		if q := h.answers[r.URL.Path]; len(q) > 0 {
			h.answers[r.URL.Path] = q[1:]
			http.Error(w, "gate closed", q[0])
		}
	}))
	t.Cleanup(h.Close)
	return h
}

// hooks are a webhook at every phase, each at its own path.
func (h *hookServer) hooks() []rollout.Hook {
	var out []rollout.Hook
	for _, p := range []rollout.HookPhase{rollout.ConfirmRollout, rollout.PreRollout, rollout.ConfirmTrafficIncrease, rollout.Rollout,
		rollout.ConfirmPromotion, rollout.Rollback, rollout.PostRollout} {
		out = append(out, webhook.New(string(p), p, h.URL+"/"+string(p), webhook.Options{Metadata: map[string]string{"cmd": "hey -z 1m http://fraud.ml:8501/"}}))
	}
	return out
}

func (h *hookServer) got() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return strings.Join(h.calls, "\n")
}

// TestHooksSendFlaggersPayload: a healthy rollout calls each phase's
// webhook in order with Flagger's payload (the model's name and namespace,
// Flagger's phase, the candidate's digest as checksum, the metadata).
func TestHooksSendFlaggersPayload(t *testing.T) {
	h := newHookServer(t)
	c := applytest.NewServerSideCluster(nil)
	var events []string
	d := driver(c, &scripted{}, &events)
	d.Hooks = h.hooks()
	rep, err := d.Run(context.Background(), plan(t))
	if err != nil || rep.Outcome != rollout.Succeeded {
		t.Fatalf("%s, %v", rep.Outcome, err)
	}
	want := strings.Join([]string{
		"confirm-rollout Progressing",
		"pre-rollout Progressing",
		"confirm-traffic-increase Progressing", // 10%
		"rollout Progressing",
		"confirm-traffic-increase Progressing", // 50%
		"rollout Progressing",
		"confirm-promotion WaitingPromotion",
		"post-rollout Succeeded",
	}, "\n")
	if got := h.got(); got != want {
		t.Errorf("calls:\n%s\nwant\n%s", got, want)
	}
	rec, _, err := rollout.Status(context.Background(), c, "ml", "fraud")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range h.payloads {
		if p.Name != "fraud" || p.Namespace != "ml" || p.Checksum != rec.Digest || p.Checksum == "" || p.Metadata["cmd"] != "hey -z 1m http://fraud.ml:8501/" {
			t.Errorf("payload %+v (digest %s)", p, rec.Digest)
		}
	}
}

// TestHookFailures: a failing confirm hook holds, then the rollout goes
// on; a failing pre-rollout hook aborts before the candidate has any
// traffic, and the rollback and post-rollout hooks hear of it; a failing
// rollout hook (a load test that did not run) is a failed analysis; a
// hook slower than its timeout fails.
func TestHookFailures(t *testing.T) {
	t.Run("confirm holds", func(t *testing.T) {
		h := newHookServer(t)
		h.answers["/confirm-promotion"] = []int{http.StatusForbidden, http.StatusForbidden}
		c := applytest.NewServerSideCluster(nil)
		var events []string
		d := driver(c, &scripted{}, &events)
		d.Hooks = h.hooks()
		rep, err := d.Run(context.Background(), plan(t))
		all := strings.Join(events, "\n")
		held := strings.Count(all, "held before 03-promoted: hook confirm-promotion (confirm-promotion): POST "+h.URL+"/confirm-promotion: 403 Forbidden: gate closed")
		if err != nil || rep.Outcome != rollout.Succeeded || held != 2 || strings.Count(h.got(), "confirm-promotion") != 3 {
			t.Errorf("%s, %v, held %d times; events:\n%s", rep.Outcome, err, held, all)
		}
	})
	t.Run("pre-rollout aborts", func(t *testing.T) {
		h := newHookServer(t)
		h.answers["/pre-rollout"] = []int{http.StatusInternalServerError}
		c := applytest.NewServerSideCluster(nil)
		var events []string
		g := &scripted{}
		d := driver(c, g, &events)
		d.Hooks = h.hooks()
		p := plan(t)
		rep, err := d.Run(context.Background(), p)
		all := strings.Join(events, "\n")
		if err != nil || rep.Outcome != rollout.RolledBack || len(g.analysed) != 0 || liveStep(t, c, p) != "00-baseline" || strings.Contains(all, "applied 01-canary-10") {
			t.Fatalf("%s, %v, %d analyses; events:\n%s", rep.Outcome, err, len(g.analysed), all)
		}
		if !strings.Contains(all, "rolling back from 00-baseline: hook pre-rollout (pre-rollout): POST "+h.URL+"/pre-rollout: 500 Internal Server Error") {
			t.Errorf("events:\n%s", all)
		}
		if got := h.got(); !strings.HasSuffix(got, "pre-rollout Progressing\nrollback Failed\npost-rollout Failed") {
			t.Errorf("calls:\n%s", got)
		}
		if _, err := driver(c, g, &events).Run(context.Background(), p); err == nil || !strings.Contains(err.Error(), "was rolled back") {
			t.Errorf("the aborted candidate again: %v", err)
		}
	})
	t.Run("rollout hook fails an analysis", func(t *testing.T) {
		h := newHookServer(t)
		h.answers["/rollout"] = []int{http.StatusBadGateway}
		c := applytest.NewServerSideCluster(nil)
		var events []string
		g := &scripted{}
		d := driver(c, g, &events)
		d.Hooks = h.hooks()
		rep, err := d.Run(context.Background(), plan(t))
		if err != nil || rep.Outcome != rollout.RolledBack || len(g.analysed) != 0 ||
			!strings.Contains(strings.Join(events, "\n"), "analysed 01-canary-10: fail: hook (fail: hook rollout (rollout): POST "+h.URL+"/rollout: 502 Bad Gateway") {
			t.Errorf("%s, %v; events:\n%s", rep.Outcome, err, strings.Join(events, "\n"))
		}
	})
	t.Run("timeout", func(t *testing.T) {
		slow := rollout.Hook{Name: "slow", Phase: rollout.PreRollout, Timeout: 50 * time.Millisecond, Call: func(ctx context.Context, _ rollout.HookCall) error {
			<-ctx.Done()
			return fmt.Errorf("gave up: %w", ctx.Err())
		}}
		c := applytest.NewServerSideCluster(nil)
		var events []string
		d := driver(c, &scripted{}, &events)
		d.Hooks = []rollout.Hook{slow}
		rep, err := d.Run(context.Background(), plan(t))
		if err != nil || rep.Outcome != rollout.RolledBack || !strings.Contains(strings.Join(events, "\n"), "hook slow (pre-rollout): gave up: context deadline exceeded") {
			t.Errorf("%s, %v; events:\n%s", rep.Outcome, err, strings.Join(events, "\n"))
		}
	})
	t.Run("cancelled while held", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		closed := rollout.Hook{Name: "gate", Phase: rollout.ConfirmRollout, Call: func(context.Context, rollout.HookCall) error {
			cancel()
			return errors.New("closed")
		}}
		c := applytest.NewServerSideCluster(nil)
		var events []string
		d := driver(c, &scripted{}, &events)
		d.Hooks = []rollout.Hook{closed}
		if _, err := d.Run(ctx, plan(t)); !errors.Is(err, context.Canceled) || len(c.Objects()) > 1 {
			t.Errorf("%v, %d objects applied before the rollout was confirmed", err, len(c.Objects()))
		}
	})
}
