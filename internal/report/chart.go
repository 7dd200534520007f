package report

import (
	"math"
	"strconv"
	"time"

	"github.com/activator-dev/activator/internal/portal"
)

// DefaultChartBars is the most bars the chart draws. Past it a bar would be
// a few pixels wide on a laptop screen; older syncs are then grouped, each
// group drawn as its last sync (the state it ended in).
const DefaultChartBars = 60

// DefaultChartLabels is the most dates under the x axis: more overlap.
const DefaultChartLabels = 7

// Chart geometry, in SVG user units (the SVG scales to the page width).
const (
	chartWidth  = 960
	chartHeight = 340
	chartLeft   = 64
	chartRight  = 20
	chartTop    = 16
	chartBottom = 64
)

// Chart is the stacked bar chart of counts per status, one bar per sync,
// laid out for the HTML template.
type Chart struct {
	Width, Height int
	// PlotX, PlotY, PlotW, PlotH frame the bars.
	PlotX, PlotY, PlotW, PlotH float64
	Bars                       []Bar
	YTicks                     []Tick
	XLabels                    []Label
	// Syncs is how many syncs the history holds; Grouped is set when
	// there were more than DefaultChartBars and some share a bar.
	Syncs   int
	Grouped bool
	// Max is the y axis' top value.
	Max int
}

// Bar is one sync's stack.
type Bar struct {
	SyncID int64
	At     time.Time
	Total  int
	X, W   float64
	Segs   []Seg
}

// Seg is one status class's part of a bar.
type Seg struct {
	Class string
	Count int
	Y, H  float64
}

// Tick is a y axis value and where it is drawn.
type Tick struct {
	Value int
	Y     float64
}

// Label is an x axis date under a bar, with the sync's id below it.
type Label struct {
	X    float64
	Text string
	Sub  string
}

// pickBars keeps at most limit points: point i of the result is the last
// of the i-th of limit nearly equal groups, so the newest sync is always
// drawn.
func pickBars(h []SyncPoint, limit int) []SyncPoint {
	n := len(h)
	if n <= limit {
		return h
	}
	out := make([]SyncPoint, 0, limit)
	for i := range limit {
		out = append(out, h[(i+1)*n/limit-1])
	}
	return out
}

// DefaultChartTicks is the most steps up the y axis: enough to read a
// bar's height, few enough to keep the labels apart.
const DefaultChartTicks = 6

// axisScale picks the y axis: the smallest step of 1, 2 or 5 times a
// power of ten that reaches most within DefaultChartTicks steps, and the
// top value it ends at.
func axisScale(most int) (step, top int) {
	for p := 1; ; p *= 10 {
		for _, m := range []int{1, 2, 5} {
			step = m * p
			n := (most + step - 1) / step
			if n <= DefaultChartTicks {
				return step, max(n, 1) * step
			}
		}
	}
}

// NewChart lays out the history as stacked bars.
func NewChart(history []SyncPoint) *Chart {
	c := &Chart{Width: chartWidth, Height: chartHeight, PlotX: chartLeft, PlotY: chartTop,
		PlotW: chartWidth - chartLeft - chartRight, PlotH: chartHeight - chartTop - chartBottom, Syncs: len(history)}
	points := pickBars(history, DefaultChartBars)
	c.Grouped = len(points) < len(history)
	most := 0
	for _, p := range points {
		most = max(most, p.Total)
	}
	step, top := axisScale(most)
	c.Max = top
	scale := c.PlotH / float64(c.Max)
	for v := 0; v <= c.Max; v += step {
		c.YTicks = append(c.YTicks, Tick{Value: v, Y: c.PlotY + c.PlotH - float64(v)*scale})
	}
	if len(points) == 0 {
		return c
	}
	slot := c.PlotW / float64(len(points))
	w := math.Min(slot*0.72, 56)
	for i, p := range points {
		b := Bar{SyncID: p.ID, At: p.At, Total: p.Total, X: c.PlotX + float64(i)*slot + (slot-w)/2, W: w}
		y := c.PlotY + c.PlotH
		for _, class := range portal.Classes {
			n := ClassCount(p.Counts, class)
			if n == 0 {
				continue
			}
			h := float64(n) * scale
			y -= h
			b.Segs = append(b.Segs, Seg{Class: class, Count: n, Y: y, H: h})
		}
		c.Bars = append(c.Bars, b)
	}
	c.XLabels = xLabels(c.Bars, slot)
	return c
}

// FirstAt is when the first drawn sync finished.
func (c *Chart) FirstAt() time.Time {
	if len(c.Bars) == 0 {
		return time.Time{}
	}
	return c.Bars[0].At
}

// LastAt is when the newest sync finished.
func (c *Chart) LastAt() time.Time {
	if len(c.Bars) == 0 {
		return time.Time{}
	}
	return c.Bars[len(c.Bars)-1].At
}

// xLabels dates a few evenly spread bars, the first and last always; the
// time of day is shown when the bars span less than two days.
func xLabels(bars []Bar, slot float64) []Label {
	n := len(bars)
	layout := "Jan 2"
	if bars[n-1].At.Sub(bars[0].At) < 48*time.Hour {
		layout = "Jan 2 15:04"
	}
	k := min(n, DefaultChartLabels)
	var out []Label
	last := -1
	for j := range k {
		i := 0
		if k > 1 {
			i = int(math.Round(float64(j) * float64(n-1) / float64(k-1)))
		}
		if i == last {
			continue
		}
		last = i
		out = append(out, Label{X: bars[i].X + bars[i].W/2, Text: bars[i].At.UTC().Format(layout), Sub: "sync " + strconv.FormatInt(bars[i].SyncID, 10)})
	}
	return out
}
