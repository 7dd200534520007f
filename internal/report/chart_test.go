package report

import (
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/activator-dev/activator/internal/portal"
)

// points makes n syncs an hour apart, each with the counts of mk(i).
func points(n int, mk func(i int) map[int]int) []SyncPoint {
	var out []SyncPoint
	for i := range n {
		c := mk(i)
		total := 0
		for _, v := range c {
			total += v
		}
		out = append(out, SyncPoint{ID: int64(i + 1), At: t0.Add(time.Duration(i) * time.Hour), Total: total, Counts: countList(c)})
	}
	return out
}

func TestPickBars(t *testing.T) {
	tests := []struct {
		n, limit int
		want     []int64 // sync ids kept
	}{
		{0, 5, nil},
		{3, 5, []int64{1, 2, 3}},
		{5, 5, []int64{1, 2, 3, 4, 5}},
		{10, 5, []int64{2, 4, 6, 8, 10}},
		{7, 3, []int64{2, 4, 7}},
	}
	for _, tt := range tests {
		got := pickBars(points(tt.n, func(int) map[int]int { return nil }), tt.limit)
		var ids []int64
		for _, p := range got {
			ids = append(ids, p.ID)
		}
		if len(ids) != len(tt.want) {
			t.Errorf("pickBars(%d, %d) = %v, want %v", tt.n, tt.limit, ids, tt.want)
			continue
		}
		for i := range ids {
			if ids[i] != tt.want[i] {
				t.Errorf("pickBars(%d, %d) = %v, want %v", tt.n, tt.limit, ids, tt.want)
				break
			}
		}
	}
}

func TestAxisScale(t *testing.T) {
	tests := []struct{ most, step, top int }{
		{0, 1, 1}, {1, 1, 1}, {6, 1, 6}, {7, 2, 8}, {40, 10, 40}, {41, 10, 50}, {500, 100, 500}, {502, 100, 600}, {4999, 1000, 5000},
	}
	for _, tt := range tests {
		if step, top := axisScale(tt.most); step != tt.step || top != tt.top {
			t.Errorf("axisScale(%d) = %d, %d; want %d, %d", tt.most, step, top, tt.step, tt.top)
		}
	}
}

// TestNewChart checks the geometry: stacked segments fill exactly their
// share of the bar, bars stay in the plot, the axis covers the tallest bar.
func TestNewChart(t *testing.T) {
	tests := []struct {
		name    string
		history []SyncPoint
		bars    int
		max     int
		grouped bool
	}{
		{"no sync", nil, 0, 1, false},
		{"one sync", points(1, func(int) map[int]int { return map[int]int{0: 480, 1: 20} }), 1, 500, false},
		{"just over a round number", points(2, func(int) map[int]int { return map[int]int{1: 502} }), 2, 600, false},
		{"activation over time", points(12, func(i int) map[int]int { return map[int]int{0: 40 - 3*i, 1: 3 * i, 3: 1, 2: i % 2} }), 12, 50, false},
		{"a year of syncs", points(730, func(i int) map[int]int { return map[int]int{1: i / 2, 0: 500 - i/2} }), DefaultChartBars, 500, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewChart(tt.history)
			if len(c.Bars) != tt.bars || c.Max != tt.max || c.Grouped != tt.grouped || c.Syncs != len(tt.history) {
				t.Fatalf("%d bars, max %d, grouped %v, syncs %d; want %d, %d, %v, %d", len(c.Bars), c.Max, c.Grouped, c.Syncs,
					tt.bars, tt.max, tt.grouped, len(tt.history))
			}
			if first, last := c.YTicks[0], c.YTicks[len(c.YTicks)-1]; first.Value != 0 || last.Value != c.Max ||
				math.Abs(first.Y-(c.PlotY+c.PlotH)) > 1e-9 || math.Abs(last.Y-c.PlotY) > 1e-9 {
				t.Errorf("ticks %+v do not span the plot", c.YTicks)
			}
			scale := c.PlotH / float64(c.Max)
			for i, b := range c.Bars {
				if b.X < c.PlotX || b.X+b.W > c.PlotX+c.PlotW+1e-9 || b.W <= 0 {
					t.Errorf("bar %d at x %g width %g leaves the plot", i, b.X, b.W)
				}
				sum, height := 0, 0.0
				bottom := c.PlotY + c.PlotH
				for _, s := range b.Segs {
					sum += s.Count
					height += s.H
					if math.Abs(s.Y+s.H-bottom) > 1e-9 {
						t.Errorf("bar %d: segment %s does not sit on the one below", i, s.Class)
					}
					bottom = s.Y
					if math.Abs(s.H-float64(s.Count)*scale) > 1e-9 {
						t.Errorf("bar %d: %s is %g tall for %d", i, s.Class, s.H, s.Count)
					}
				}
				if sum != b.Total || math.Abs(height-float64(b.Total)*scale) > 1e-6 {
					t.Errorf("bar %d: segments sum to %d (%g units), total %d", i, sum, height, b.Total)
				}
			}
			if tt.bars > 0 {
				if c.Bars[len(c.Bars)-1].SyncID != tt.history[len(tt.history)-1].ID {
					t.Errorf("the newest sync is not the last bar")
				}
				if len(c.XLabels) == 0 || len(c.XLabels) > DefaultChartLabels {
					t.Errorf("%d x labels", len(c.XLabels))
				}
				if l := c.XLabels[len(c.XLabels)-1]; l.Sub != "sync "+strconv.FormatInt(c.Bars[len(c.Bars)-1].SyncID, 10) {
					t.Errorf("last label %+v does not name the newest sync", l)
				}
			}
		})
	}
}

// TestChartSegmentsOrder stacks the classes bottom to top in portal.Classes
// order, unknown values grouped.
func TestChartSegmentsOrder(t *testing.T) {
	c := NewChart(points(1, func(int) map[int]int { return map[int]int{0: 1, 1: 2, 3: 3, 2: 4, 9: 5} }))
	var got []string
	for _, s := range c.Bars[0].Segs {
		got = append(got, s.Class)
	}
	want := portal.Classes
	if len(got) != len(want) {
		t.Fatalf("segments %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("segments %v, want %v", got, want)
		}
	}
	if n := c.Bars[0].Segs[3].Count; n != 9 {
		t.Errorf("unknown segment %d, want 4 + 5", n)
	}
}
