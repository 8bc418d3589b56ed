package observe

import (
	"bytes"
	"context"
	"fmt"
	"image/color"
	"io"
	"math"
	"slices"
	"strings"
	"text/template"
	"time"

	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/mlmesh/mlmesh/names"
	"github.com/mlmesh/mlmesh/rollout"
	"github.com/mlmesh/mlmesh/rollout/promgate"
)

// RolloutChart is the history of a rollout as its chart draws it: the
// weight of each version over time, each step the cluster reached and each
// verdict, from the rollout record (NewRolloutChart); and underneath, each
// version's success rate and latency over the same time, from Prometheus
// (Query). WriteSVG draws it. Its fields are what is drawn, so that a test
// or a program can check the picture's series without reading pixels.
type RolloutChart struct {
	// Namespace and Model are the rollout's, from the record.
	Namespace, Model string
	// Title names the rollout: "ml/fraud: v1 → v2 (rolled back)".
	Title string
	// Start and End bound the time axis: the first move and the record's
	// last write.
	Start, End time.Time
	// Weights are the versions' shares of the traffic, in percent, as
	// step functions: the stable version first, then the candidate.
	Weights []Series
	// Steps mark each move the cluster made, labelled with the step.
	Steps []Mark
	// Verdicts mark each analysis, at the candidate's weight then.
	Verdicts []Mark
	// Success and Latency are the versions' success rates (percent) and
	// latencies (milliseconds, at LatencyQuantile) from Prometheus, in the
	// order of Weights; empty until Query.
	Success, Latency []Series
	LatencyQuantile  float64
	// MinSuccess and MaxLatency, if more than 0, are drawn as the gate's
	// bounds.
	MinSuccess, MaxLatency float64
}

// Series is one version's figure over time. Gaps (no requests) are
// missing points.
type Series struct {
	Version string
	Points  []Point
}

// Span is the least and the greatest value of s; ok is false when s has
// no points.
func (s Series) Span() (lo, hi float64, ok bool) {
	for i, p := range s.Points {
		if i == 0 || p.Value < lo {
			lo = p.Value
		}
		if i == 0 || p.Value > hi {
			hi = p.Value
		}
	}
	return lo, hi, len(s.Points) > 0
}

// Point is one value of a series.
type Point struct {
	Time  time.Time
	Value float64
}

// Mark is a moment of the rollout: a move (Label is the step) or an
// analysis (Label is its summary, Conclusion its result, Value the
// candidate's weight then).
type Mark struct {
	Time       time.Time
	Label      string
	Conclusion rollout.Conclusion
	Value      float64
}

// NewRolloutChart is the chart of the rollout rec records, without
// Prometheus's figures: the weights, moves and verdicts.
func NewRolloutChart(rec rollout.Record) RolloutChart {
	c := RolloutChart{Namespace: rec.Namespace, Model: rec.Model, Title: fmt.Sprintf("%s/%s: %s → %s", rec.Namespace, rec.Model, rec.Stable, rec.Candidate), End: rec.Updated}
	if rec.Outcome != "" {
		c.Title += " (" + string(rec.Outcome) + ")"
	}
	if len(rec.Moves) > 0 {
		c.Start = rec.Moves[0].Time
	}
	for _, v := range []string{rec.Stable, rec.Candidate} {
		s := Series{Version: v}
		for i, m := range rec.Moves {
			w := float64(m.Weights[v])
			if i > 0 {
				s.Points = append(s.Points, Point{m.Time, s.Points[len(s.Points)-1].Value})
			}
			s.Points = append(s.Points, Point{m.Time, w})
		}
		c.Weights = append(c.Weights, s)
	}
	for _, m := range rec.Moves {
		c.Steps = append(c.Steps, Mark{Time: m.Time, Label: m.Step})
	}
	for _, v := range rec.Verdicts {
		c.Verdicts = append(c.Verdicts, Mark{Time: v.Time, Label: v.Step + " " + v.Summary, Conclusion: v.Conclusion, Value: weightAt(rec, rec.Candidate, v.Step, v.Time)})
	}
	if last := lastTime(rec); last.After(c.End) {
		c.End = last
	}
	// Close the step functions at the end of the axis.
	for i := range c.Weights {
		if p := c.Weights[i].Points; len(p) > 0 && c.End.After(p[len(p)-1].Time) {
			c.Weights[i].Points = append(p, Point{c.End, p[len(p)-1].Value})
		}
	}
	return c
}

// weightAt is version's weight at step, as the last move to step at or
// before t set it: a verdict's, even when the rollback it caused was
// recorded in the same instant.
func weightAt(rec rollout.Record, version, step string, t time.Time) float64 {
	var w float64
	for _, m := range rec.Moves {
		if m.Time.After(t) {
			break
		}
		if m.Step == step {
			w = float64(m.Weights[version])
		}
	}
	return w
}

// lastTime is the time of the record's last move or verdict.
func lastTime(rec rollout.Record) time.Time {
	var t time.Time
	for _, m := range rec.Moves {
		t = later(t, m.Time)
	}
	for _, v := range rec.Verdicts {
		t = later(t, v.Time)
	}
	return t
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// ChartQuery says how RolloutChart.Query reads the versions' figures.
type ChartQuery struct {
	// Reporter is the reporter label of Istio's metrics (promgate's
	// Reporter constants); "" is the destination's sidecar.
	Reporter string
	// Window is the range of each rate; 0 means one minute. Give it at
	// least two scrape intervals.
	Window time.Duration
	// Resolution is the time between points; 0 means a 120th of the
	// rollout's time, at least a second.
	Resolution time.Duration
	// LatencyQuantile is the latency drawn; 0 means 0.99.
	LatencyQuantile float64
	// Labels are further exact label matchers of the queries, as
	// promgate.Options.Labels (a global Prometheus's cluster label).
	Labels map[string]string
}

// Query fills c.Success and c.Latency with each version's figures over the
// chart's time, from Prometheus through api, with promgate's queries, so
// the chart shows what the gate judged. As the gate's, no point's window
// reaches before the rollout's first move (a candidate rolled back and
// retried would otherwise start at its old figures): in the first window
// of the rollout each point is asked for on its own, over the time since
// the first move; after it, one range query asks for the rest.
func (c *RolloutChart) Query(ctx context.Context, api promv1.API, q ChartQuery) error {
	if c.Start.IsZero() || !c.End.After(c.Start) {
		return fmt.Errorf("observe: the rollout of %s/%s has no time to chart (no moves recorded)", c.Namespace, c.Model)
	}
	if q.Reporter == "" {
		q.Reporter = promgate.ReporterDestination
	}
	if q.Window <= 0 {
		q.Window = time.Minute
	}
	if q.LatencyQuantile == 0 {
		q.LatencyQuantile = 0.99
	}
	if q.Resolution <= 0 {
		q.Resolution = max(c.End.Sub(c.Start)/120, time.Second)
	}
	c.LatencyQuantile = q.LatencyQuantile
	c.Success, c.Latency = nil, nil
	labels, err := promgate.Matchers(q.Labels)
	if err != nil {
		return err
	}
	queries := []string{promgate.SuccessRate(0).Query, promgate.Latency(q.LatencyQuantile, 0).Query}
	for _, w := range c.Weights {
		var figures [2]Series
		for i, query := range queries {
			t, err := template.New("q").Option("missingkey=error").Parse(query)
			if err != nil {
				return err
			}
			f := figureQuery{api: api, tmpl: t, q: q, namespace: c.Namespace, model: c.Model, version: w.Version, labels: labels}
			if figures[i], err = f.over(ctx, c.Start, c.End); err != nil {
				return fmt.Errorf("observe: querying %s's figures: %w", w.Version, err)
			}
		}
		c.Success, c.Latency = append(c.Success, figures[0]), append(c.Latency, figures[1])
	}
	return nil
}

// figureQuery is one figure of one version: a promgate query template.
type figureQuery struct {
	api                       promv1.API
	tmpl                      *template.Template
	q                         ChartQuery
	namespace, model, version string
	labels                    string // ChartQuery.Labels as matchers
}

// text is the query with a window.
func (f figureQuery) text(window time.Duration) (string, error) {
	var b bytes.Buffer
	err := f.tmpl.Execute(&b, map[string]string{"Namespace": f.namespace, "Model": f.model, "Version": f.version,
		"Workload": names.Deployment(f.model, f.version), "Window": model.Duration(window).String(), "Reporter": f.q.Reporter, "Labels": f.labels})
	return b.String(), err
}

// over is the figure from start to end, every Resolution, each point's
// window cut at start.
func (f figureQuery) over(ctx context.Context, start, end time.Time) (Series, error) {
	s := Series{Version: f.version}
	add := func(t time.Time, v model.SampleValue) {
		if v := float64(v); !math.IsNaN(v) && !math.IsInf(v, 0) {
			s.Points = append(s.Points, Point{t.UTC(), v})
		}
	}
	// The range query's points fall on the same grid as the first ones.
	full := start.Add((f.q.Window + f.q.Resolution - 1) / f.q.Resolution * f.q.Resolution)
	for t := start.Add(f.q.Resolution); t.Before(full) && !t.After(end); t = t.Add(f.q.Resolution) {
		window := t.Sub(start).Truncate(time.Millisecond)
		if window < time.Second {
			continue // the gate judges nothing under a second old
		}
		query, err := f.text(window)
		if err != nil {
			return s, err
		}
		v, _, _, err := f.api.Query(ctx, query, t)
		if err != nil {
			return s, err
		}
		if vec, ok := v.(model.Vector); ok && len(vec) == 1 {
			add(t, vec[0].Value)
		}
	}
	if full.After(end) {
		return s, nil
	}
	query, err := f.text(f.q.Window)
	if err != nil {
		return s, err
	}
	v, _, _, err := f.api.QueryRange(ctx, query, promv1.Range{Start: full, End: end, Step: f.q.Resolution})
	if err != nil {
		return s, err
	}
	m, _ := v.(model.Matrix)
	for _, series := range m {
		for _, p := range series.Values {
			add(p.Timestamp.Time(), p.Value)
		}
	}
	return s, nil
}

// The chart's colours: the stable version, the candidate, and the
// verdicts.
var (
	versionColors    = []color.Color{color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}, color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff}}
	conclusionColors = map[rollout.Conclusion]color.Color{
		rollout.Pass:   color.RGBA{G: 0x99, A: 0xff},
		rollout.Fail:   color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
		rollout.NoData: color.Gray{Y: 0x88},
	}
	markColor = color.Gray{Y: 0xaa}
)

// WriteSVG draws the chart as an SVG image: the weights with the moves and
// verdicts on top, the success rates and latencies underneath (when
// queried), on one time axis.
func (c RolloutChart) WriteSVG(w io.Writer) error {
	if c.Start.IsZero() {
		return fmt.Errorf("observe: %s: no moves recorded, nothing to chart", c.Title)
	}
	plots := []*plot.Plot{c.weightPlot()}
	if len(c.Success) > 0 {
		plots = append(plots,
			c.figurePlot("success rate (%)", c.Success, c.MinSuccess),
			c.figurePlot(fmt.Sprintf("latency p%g (ms)", c.LatencyQuantile*100), c.Latency, c.MaxLatency))
	}
	const legendWidth = 1.5 * vg.Inch
	rows := make([][]*plot.Plot, len(plots))
	legends := make([]plot.Legend, len(plots))
	for i, p := range plots {
		rows[i] = []*plot.Plot{p}
		// Each plot's legend goes to its right, clear of the lines.
		legends[i], p.Legend = p.Legend, plot.NewLegend()
		// What is drawn extends the axes: the time axis is the chart's.
		p.X.Min, p.X.Max = unix(c.Start), unix(c.End)
	}
	plots[len(plots)-1].X.Label.Text = "time (UTC)"
	canvas := vgsvg.New(9*vg.Inch, vg.Length(0.6+2.4*float64(len(plots)))*vg.Inch)
	dc := draw.New(canvas)
	tiles := draw.Tiles{Rows: len(plots), Cols: 1, PadTop: vg.Points(10), PadBottom: vg.Points(10), PadLeft: vg.Points(10), PadRight: vg.Points(10), PadY: vg.Points(16)}
	for i, tile := range plot.Align(rows, tiles, draw.Crop(dc, 0, -legendWidth, 0, 0)) {
		plots[i].Draw(tile[0])
		strip := tile[0]
		strip.Min.X, strip.Max.X = strip.Max.X+vg.Points(8), dc.Max.X
		legends[i].Top, legends[i].Left = true, true
		legends[i].Draw(strip)
	}
	_, err := canvas.WriteTo(w)
	return err
}

// newPlot is a plot on the chart's time axis.
func (c RolloutChart) newPlot(title, y string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = y
	p.X.Min, p.X.Max = unix(c.Start), unix(c.End)
	p.X.Tick.Marker = plot.TimeTicks{Format: "15:04:05"}
	p.Add(plotter.NewGrid())
	return p
}

// weightPlot draws the weights, a dashed line at each move labelled with
// its step, and a glyph per verdict.
func (c RolloutChart) weightPlot() *plot.Plot {
	p := c.newPlot(c.Title, "weight (%)")
	p.Y.Min, p.Y.Max = 0, 118 // room for the step labels
	p.Add(c.moves())
	for i, m := range c.Steps {
		_, name, _ := strings.Cut(m.Label, "-") // "01-canary-10": "canary-10"
		labels, _ := plotter.NewLabels(plotter.XYLabels{XYs: plotter.XYs{{X: unix(m.Time), Y: 101 + float64(i%3)*5.5}}, Labels: []string{name}})
		labels.TextStyle[0].Font.Size = vg.Points(8)
		p.Add(labels)
	}
	for i, s := range c.Weights {
		addSeries(p, [][]Point{s.Points}, s.Version, i)
	}
	for _, conclusion := range []rollout.Conclusion{rollout.Pass, rollout.Fail, rollout.NoData} {
		var xys plotter.XYs
		for _, v := range c.Verdicts {
			if v.Conclusion == conclusion {
				xys = append(xys, plotter.XY{X: unix(v.Time), Y: v.Value})
			}
		}
		if len(xys) == 0 {
			continue
		}
		sc, _ := plotter.NewScatter(xys)
		sc.Color, sc.Radius, sc.Shape = conclusionColors[conclusion], vg.Points(4), draw.CircleGlyph{}
		if conclusion == rollout.Fail {
			sc.Shape, sc.Radius = draw.CrossGlyph{}, vg.Points(5)
		}
		p.Add(sc)
		p.Legend.Add("analysis: "+string(conclusion), sc)
	}
	return p
}

// figurePlot draws one figure of each version, and bound as a dashed line.
func (c RolloutChart) figurePlot(y string, series []Series, bound float64) *plot.Plot {
	p := c.newPlot("", y)
	p.Add(c.moves())
	if bound > 0 {
		line, _ := plotter.NewLine(plotter.XYs{{X: unix(c.Start), Y: bound}, {X: unix(c.End), Y: bound}})
		line.Color, line.Dashes = conclusionColors[rollout.Fail], []vg.Length{vg.Points(4), vg.Points(2)}
		p.Add(line)
		p.Legend.Add(fmt.Sprintf("gate: %g", bound), line)
	}
	for i, s := range series {
		addSeries(p, runs(s.Points), s.Version, i)
	}
	// A line along the plot's edge is lost in its frame: a margin of 5%.
	pad := max((p.Y.Max-p.Y.Min)*0.05, 0.5)
	p.Y.Min, p.Y.Max = p.Y.Min-pad, p.Y.Max+pad
	return p
}

// moves are the chart's moves as dashed lines from the bottom of a plot to
// its top, so that a step lines up with the figures' change below it.
func (c RolloutChart) moves() plot.Plotter { return moveLines(c.Steps) }

type moveLines []Mark

func (m moveLines) Plot(c draw.Canvas, p *plot.Plot) {
	style := draw.LineStyle{Color: markColor, Width: vg.Points(1), Dashes: []vg.Length{vg.Points(3), vg.Points(3)}}
	for _, mark := range m {
		x := c.X(p.X.Norm(unix(mark.Time)))
		c.StrokeLine2(style, x, c.Min.Y, x, c.Max.Y)
	}
}

// addSeries draws a version's series in the i-th version's colour, one
// line per run of points.
func addSeries(p *plot.Plot, runs [][]Point, version string, i int) {
	var legend *plotter.Line
	for _, run := range runs {
		xys := make(plotter.XYs, len(run))
		for j, pt := range run {
			xys[j] = plotter.XY{X: unix(pt.Time), Y: pt.Value}
		}
		line, err := plotter.NewLine(xys)
		if err != nil {
			continue // a value NaN or infinite: not drawn
		}
		line.Color, line.Width = versionColors[i%len(versionColors)], vg.Points(1.5)
		p.Add(line)
		if len(run) == 1 { // a lone point: a line of one point is not seen
			dot, _ := plotter.NewScatter(xys)
			dot.Color, dot.Radius, dot.Shape = line.Color, vg.Points(2), draw.CircleGlyph{}
			p.Add(dot)
		}
		if legend == nil {
			legend = line
		}
	}
	if legend != nil {
		p.Legend.Add(version, legend)
	}
}

// runs splits points where the time between two is more than twice the
// usual (the median) time between two: a series queried at a fixed
// resolution has a gap where no requests came.
func runs(points []Point) [][]Point {
	if len(points) < 3 {
		return [][]Point{points}
	}
	gaps := make([]time.Duration, 0, len(points)-1)
	for i := 1; i < len(points); i++ {
		gaps = append(gaps, points[i].Time.Sub(points[i-1].Time))
	}
	slices.Sort(gaps)
	usual := gaps[len(gaps)/2]
	var out [][]Point
	start := 0
	for i := 1; i < len(points); i++ {
		if points[i].Time.Sub(points[i-1].Time) > 2*usual {
			out = append(out, points[start:i])
			start = i
		}
	}
	return append(out, points[start:])
}

func unix(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }
