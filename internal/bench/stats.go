package bench

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

// Latency summarises latency samples.
type Latency struct {
	Samples int     `json:"samples"`
	P50Ms   float64 `json:"p50_ms"`
	P99Ms   float64 `json:"p99_ms"`
	P999Ms  float64 `json:"p999_ms"`
	MaxMs   float64 `json:"max_ms"`
}

func (l Latency) String() string {
	return fmt.Sprintf("p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms", l.P50Ms, l.P99Ms, l.P999Ms)
}

// recorder collects latency samples from many goroutines; each keeps its
// own slice (see local) and merges it once.
type recorder struct {
	mu  sync.Mutex
	all []time.Duration
}

func (r *recorder) merge(s []time.Duration) {
	r.mu.Lock()
	r.all = append(r.all, s...)
	r.mu.Unlock()
}

func (r *recorder) summary() Latency {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.all) == 0 {
		return Latency{}
	}
	slices.Sort(r.all)
	at := func(q float64) float64 {
		i := int(q * float64(len(r.all)-1))
		return float64(r.all[i]) / 1e6
	}
	return Latency{Samples: len(r.all), P50Ms: at(0.50), P99Ms: at(0.99), P999Ms: at(0.999), MaxMs: at(1)}
}

// progress draws a bar on w (a terminal's stderr) while a phase runs.
type progress struct {
	w     io.Writer
	label string
	frac  func() float64
	stop  chan struct{}
	done  chan struct{}
}

// startProgress shows label with a bar filled to frac() and status()
// after it, until end is called. A nil w shows nothing.
func startProgress(w io.Writer, label string, frac func() float64, status func() string) *progress {
	p := &progress{w: w, label: label, frac: frac, stop: make(chan struct{}), done: make(chan struct{})}
	if w == nil {
		close(p.done)
		return p
	}
	if !isTerminal(w) {
		// A log or a pipe gets the finished bar only, not a redraw
		// every 250 ms.
		go func() {
			defer close(p.done)
			<-p.stop
			p.draw(1, status())
			fmt.Fprintln(w)
		}()
		return p
	}
	go func() {
		defer close(p.done)
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				p.draw(1, status())
				fmt.Fprintln(w)
				return
			case <-t.C:
				p.draw(min(max(p.frac(), 0), 1), status())
			}
		}
	}()
	return p
}

// timeFrac fills a bar over d from now.
func timeFrac(d time.Duration) func() float64 {
	start := time.Now()
	return func() float64 { return float64(time.Since(start)) / float64(d) }
}

// countFrac fills a bar as n() goes to total.
func countFrac(n func() int64, total int) func() float64 {
	return func() float64 { return float64(n()) / float64(max(total, 1)) }
}

func (p *progress) draw(f float64, status string) {
	const width = 30
	n := int(f * width)
	bar := fmt.Sprintf("  %-22s [%s%s] %3.0f%% %s", p.label, strings.Repeat("#", n), strings.Repeat(".", width-n), f*100, status)
	if isTerminal(p.w) {
		bar = "\r" + bar + "\x1b[K"
	}
	fmt.Fprint(p.w, bar)
}

// isTerminal reports whether w is a character device (a terminal), where
// a bar can be redrawn in place.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func (p *progress) end() {
	select {
	case <-p.stop:
	default:
		close(p.stop)
	}
	<-p.done
}
