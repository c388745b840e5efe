package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// EchoConfig configures the echo load.
type EchoConfig struct {
	Connections int           // default 1000
	Payload     int           // message size in bytes; default 512
	Concurrency int           // messages in flight per connection; default 1
	Duration    time.Duration // measured time; default 10s
	Warmup      time.Duration // unmeasured time first; default 1s
	Progress    io.Writer     // bars; nil shows none
}

func (c *EchoConfig) defaults() {
	if c.Connections <= 0 {
		c.Connections = 1000
	}
	if c.Payload <= 0 {
		c.Payload = 512
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 1
	}
	if c.Duration <= 0 {
		c.Duration = 10 * time.Second
	}
	if c.Warmup < 0 {
		c.Warmup = 0
	} else if c.Warmup == 0 {
		c.Warmup = time.Second
	}
}

// EchoResult is what the echo load measured.
type EchoResult struct {
	Server      string  `json:"server"`
	Connections int     `json:"connections"`
	Payload     int     `json:"payload_bytes"`
	Concurrency int     `json:"concurrency"`
	Seconds     float64 `json:"seconds"`
	Messages    int64   `json:"messages"`
	PerSecond   float64 `json:"messages_per_second"`
	Latency     Latency `json:"latency"`
	Errors      int64   `json:"errors"`
	// ServerCPU is the CPU seconds the server used in the measured time
	// (0 unknown); PerCPUSecond is Messages over it: the server's
	// efficiency, less bent by the generator sharing the machine.
	ServerCPU    float64 `json:"server_cpu_seconds"`
	PerCPUSecond float64 `json:"messages_per_server_cpu_second"`
}

// Echo opens cfg.Connections WebSockets to the target's echo endpoint;
// each keeps cfg.Concurrency messages of cfg.Payload bytes in flight and
// sends a new one for every echo, for cfg.Duration after a warm-up. It
// measures echoes per second and round-trip latency.
func Echo(ctx context.Context, t Target, cfg EchoConfig) (EchoResult, error) {
	cfg.defaults()
	conns, err := openConns(ctx, t, cfg.Connections, "/echo", "", cfg.Progress)
	defer closeAll(conns)
	if err != nil {
		return EchoResult{}, err
	}
	var (
		measuring atomic.Bool
		stop      atomic.Bool
		count     atomic.Int64
		errs      atomic.Int64
		rec       recorder
		wg        sync.WaitGroup
	)
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var samples []time.Duration
			defer func() { rec.merge(samples) }()
			payload := bytes.Repeat([]byte{'x'}, cfg.Payload)
			send := func() error {
				stampPayload(payload, time.Now())
				return c.write(0x2, payload)
			}
			for range cfg.Concurrency {
				if err := send(); err != nil {
					errs.Add(1)
					return
				}
			}
			var buf []byte
			for !stop.Load() {
				_, msg, err := c.read(buf)
				if err != nil {
					if !stop.Load() {
						errs.Add(1)
					}
					return
				}
				buf = msg
				if measuring.Load() {
					if sent, ok := payloadStamp(msg); ok {
						samples = append(samples, time.Since(sent))
					}
					count.Add(1)
				}
				if err := send(); err != nil {
					if !stop.Load() {
						errs.Add(1)
					}
					return
				}
			}
		}()
	}
	sleepCtx(ctx, cfg.Warmup)
	measuring.Store(true)
	start := time.Now()
	cpu := startCPU(t.PID)
	p := startProgress(cfg.Progress, "echo "+t.Name, timeFrac(cfg.Duration), func() string {
		return fmt.Sprintf("%.0f msg/s", float64(count.Load())/time.Since(start).Seconds())
	})
	sleepCtx(ctx, cfg.Duration)
	measuring.Store(false)
	elapsed := time.Since(start)
	n := count.Load()
	used := cpu.used()
	p.end()
	stop.Store(true)
	closeAll(conns)
	wg.Wait()
	return EchoResult{
		Server: t.Name, Connections: cfg.Connections, Payload: cfg.Payload, Concurrency: cfg.Concurrency,
		Seconds: elapsed.Seconds(), Messages: n, PerSecond: float64(n) / elapsed.Seconds(),
		Latency: rec.summary(), Errors: errs.Load(), ServerCPU: used, PerCPUSecond: perCPU(n, used),
	}, ctx.Err()
}

// stampMark starts the send time written into payloads: "@t" and 19
// decimal digits of Unix nanoseconds.
var stampMark = []byte("@t")

const stampLen = 2 + 19

// stampPayload writes the time at the start of p (which must hold
// stampLen bytes).
func stampPayload(p []byte, t time.Time) {
	copy(p, stampMark)
	n := t.UnixNano()
	for i := stampLen - 1; i >= 2; i-- {
		p[i] = byte('0' + n%10)
		n /= 10
	}
}

// payloadStamp finds the time stampPayload wrote anywhere in msg.
func payloadStamp(msg []byte) (time.Time, bool) {
	i := bytes.Index(msg, stampMark)
	if i < 0 || len(msg)-i < stampLen {
		return time.Time{}, false
	}
	var n int64
	for _, d := range msg[i+2 : i+stampLen] {
		if d < '0' || d > '9' {
			return time.Time{}, false
		}
		n = n*10 + int64(d-'0')
	}
	return time.Unix(0, n), true
}

// openConns dials n connections, a few at a time, showing a bar.
func openConns(ctx context.Context, t Target, n int, path, subprotocol string, w io.Writer) ([]*wsConn, error) {
	conns := make([]*wsConn, n)
	var opened atomic.Int64
	p := startProgress(w, "connect "+t.Name, countFrac(opened.Load, n), func() string { return fmt.Sprintf("%d/%d", opened.Load(), n) })
	defer p.end()
	const parallel = 64
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		next     atomic.Int64
	)
	for range parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
				c, err := dialWS(dctx, t.Addr, path, subprotocol)
				cancel()
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("connection %d to %s: %w", i+1, t.Name, err)
					}
					mu.Unlock()
					next.Store(int64(n))
					return
				}
				conns[i] = c
				opened.Add(1)
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return conns, firstErr
	}
	return conns, ctx.Err()
}

func closeAll(conns []*wsConn) {
	for _, c := range conns {
		if c != nil {
			c.close()
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

func perCPU(n int64, cpu float64) float64 {
	if cpu <= 0 {
		return 0
	}
	return float64(n) / cpu
}
