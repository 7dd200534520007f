package cli

import (
	"fmt"
	"io"
	"math"
	"strconv"

	"github.com/activator-dev/activator/internal/pace"
	"github.com/activator-dev/activator/internal/store"
)

// MaxRate bounds --rate: beyond 50 calls a second a run is held by the
// portal's latency and the workers anyway, and nothing known of the
// portal suggests it tolerates more.
const MaxRate = 50.0

// checkRate refuses a --rate that is not a number of calls per second in
// range, wherever it came from (flag, ACTIVATOR_RATE, config file): NaN
// and infinities pass a naive range check and would turn pacing off.
func checkRate(r float64) error {
	if math.IsNaN(r) || math.IsInf(r, 0) || r < pace.MinRate || r > MaxRate {
		return UsageErrorf("--rate %s is out of range: use %g to %g calls per second (from the flag, ACTIVATOR_RATE or the config file; the default is %g)",
			strconv.FormatFloat(r, 'g', -1, 64), pace.MinRate, MaxRate, pace.DefaultRate)
	}
	return nil
}

// rateString prints a rate in calls per second the way people write it.
func rateString(r float64) string {
	return strconv.FormatFloat(math.Round(r*100)/100, 'f', -1, 64)
}

// startRate is where a run's pace starts: the rate asked for, or lower
// when an earlier run found the portal's limit below it. It says so.
func startRate(w io.Writer, asked float64, rec *store.Pace) float64 {
	if rec == nil || !rec.Limited || rec.Tolerated <= 0 || rec.Tolerated >= asked {
		return asked
	}
	if w != nil {
		fmt.Fprintf(w, "Starting at %s calls a second: the portal tolerated %s/s on %s (--rate %s asks for more; the pace rises again when the portal allows).\n",
			rateString(rec.Tolerated), rateString(rec.Tolerated), rec.At.Local().Format("2006-01-02"), rateString(asked))
	}
	return rec.Tolerated
}

// PaceSummary is what the run's pace was and what the portal tolerated.
type PaceSummary struct {
	// Asked is --rate; Started is where the pace started (lower when an
	// earlier run found the portal's limit).
	Asked   float64 `json:"asked"`
	Started float64 `json:"started"`
	// Achieved is the ApproveDownload calls a second from the first to
	// the last.
	Achieved float64 `json:"achieved"`
	// Tolerated is the highest rate the portal answered without a 429
	// for a stretch of calls; Limited says a 429 was seen, so it is close
	// to the portal's limit.
	Tolerated float64 `json:"tolerated"`
	Limited   bool    `json:"limited"`
}

func round2(f float64) float64 { return math.Round(f*100) / 100 }

// paceSummary is the summary's pace: asked, started, achieved (calls a
// second over the run's calls) and what the Pacer saw the portal tolerate.
func paceSummary(asked, started, achieved float64, st pace.Stats) *PaceSummary {
	return &PaceSummary{Asked: asked, Started: round2(started), Achieved: round2(achieved), Tolerated: round2(st.Tolerated), Limited: st.Limited}
}
