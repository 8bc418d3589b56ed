// Package webhook calls HTTP webhooks at the phases of a rollout with
// Flagger's webhook payload, so that the services teams already run for
// Flagger — its load tester, acceptance-test and approval endpoints — work
// with mlmesh's rollouts unchanged:
//
//	d.Hooks = []rollout.Hook{
//		webhook.New("acceptance", rollout.PreRollout, "http://flagger-loadtester.test/", webhook.Options{
//			Metadata: map[string]string{"type": "bash", "cmd": "curl -sf http://fraud-v2.ml:8501/v1/models/fraud"}}),
//		webhook.New("load-test", rollout.Rollout, "http://flagger-loadtester.test/", webhook.Options{
//			Metadata: map[string]string{"cmd": "hey -z 1m -q 10 -c 2 http://fraud.ml:8501/"}}),
//		webhook.New("approval", rollout.ConfirmPromotion, "http://flagger-loadtester.test/gate/check", webhook.Options{}),
//	}
//
// A call POSTs {"name", "namespace", "phase", "checksum", "metadata"} as
// JSON — name and namespace the model's, phase the rollout's in Flagger's
// words (Progressing, WaitingPromotion, Succeeded, Failed), checksum the
// candidate's digest — and succeeds on a 2xx answer, as Flagger's do.
package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/mlmesh/mlmesh/rollout"
)

// Payload is Flagger's webhook payload (CanaryWebhookPayload).
type Payload struct {
	Name      string            `json:"name"`
	Namespace string            `json:"namespace"`
	Phase     string            `json:"phase"`
	Checksum  string            `json:"checksum"`
	Metadata  map[string]string `json:"metadata,omitempty"`
}

// Options are a webhook's settings.
type Options struct {
	// Metadata is sent as the payload's metadata: a load tester's "cmd"
	// and "type", say.
	Metadata map[string]string
	// Timeout bounds each call; 0 means Flagger's default, 10 seconds.
	Timeout time.Duration
	// Client sends the requests; nil is http.DefaultClient.
	Client *http.Client
}

// New returns a Hook at phase that POSTs Flagger's payload to url.
func New(name string, phase rollout.HookPhase, url string, opts Options) rollout.Hook {
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	client := opts.Client
	if client == nil {
		client = http.DefaultClient
	}
	return rollout.Hook{Name: name, Phase: phase, Timeout: opts.Timeout, Call: func(ctx context.Context, c rollout.HookCall) error {
		body, err := json.Marshal(Payload{Name: c.Model, Namespace: c.Namespace, Phase: FlaggerPhase(c), Checksum: c.Digest, Metadata: opts.Metadata})
		if err != nil {
			return err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			if m := strings.TrimSpace(string(msg)); m != "" {
				return fmt.Errorf("POST %s: %s: %s", url, resp.Status, m)
			}
			return fmt.Errorf("POST %s: %s", url, resp.Status)
		}
		return nil
	}}
}

// FlaggerPhase is the canary phase Flagger would report at c: Succeeded
// or Failed after a rollout, Failed as one rolls back, WaitingPromotion
// before promotion, Progressing otherwise.
func FlaggerPhase(c rollout.HookCall) string {
	switch {
	case c.Phase == rollout.PostRollout && c.Outcome == rollout.Succeeded:
		return "Succeeded"
	case c.Phase == rollout.PostRollout, c.Phase == rollout.Rollback:
		return "Failed"
	case c.Phase == rollout.ConfirmPromotion:
		return "WaitingPromotion"
	}
	return "Progressing"
}
