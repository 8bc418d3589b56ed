// Package observe renders what people look at and what pages them from
// the App's own description of a model: the objectives a model declares
// (mesh.Model.SLO, package slo) become Prometheus recording rules of each
// version's request rate, error ratio and slow-request ratio over the SRE
// workbook's windows, and multi-window, multi-burn-rate alerts (page: an
// hour at 14.4× or six hours at 6× the budget's even rate; ticket: a day at
// 3× or three days at 1×), on Istio's standard metrics as the App's dialect
// reports them. RuleFile writes them as a plain Prometheus rule file;
// PrometheusRule as the Prometheus Operator's resource.
//
// Dashboard builds a model's Grafana dashboard with Grafana's Foundation
// SDK, and Objects adds the dashboards (ConfigMaps for Grafana's sidecar)
// and the rules to an App's stream. RolloutCollector exports the rollouts
// a program runs as Prometheus metrics, and RolloutChart draws one rollout
// from its record — weights, moves and verdicts, with each version's
// success rate and latency from Prometheus underneath — as an SVG image.
package observe
