package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard/switchboard/peerconnection"
)

// LongPollConfig configures the peerconnection load.
type LongPollConfig struct {
	Pairs    int           // default 50
	Payload  int           // message size; default 256
	Duration time.Duration // measured time; default 10s
	Warmup   time.Duration // unmeasured exchanges first; default 1s
	Progress io.Writer
}

// LongPollResult is what the long-poll load measured.
type LongPollResult struct {
	Server    string  `json:"server"`
	Pairs     int     `json:"pairs"`
	Payload   int     `json:"payload_bytes"`
	Seconds   float64 `json:"seconds"`
	Relayed   int64   `json:"relayed"` // messages delivered (each leg counts)
	PerSecond float64 `json:"relayed_per_second"`
	Latency   Latency `json:"latency"` // one leg: /message sent to /wait returned
	Errors    int64   `json:"errors"`
}

// LongPoll signs in cfg.Pairs pairs of peerconnection members (WebRTC's
// long-poll signaling); in each pair a message goes back and forth: every
// member waits (hanging GET /wait) and answers what it gets to its
// partner. Every request is a fresh TCP connection, as in the protocol.
func LongPoll(ctx context.Context, t Target, cfg LongPollConfig) (LongPollResult, error) {
	if cfg.Pairs <= 0 {
		cfg.Pairs = 50
	}
	if cfg.Payload < stampLen {
		cfg.Payload = max(cfg.Payload, 256, stampLen)
	}
	if cfg.Duration <= 0 {
		cfg.Duration = 10 * time.Second
	}
	if cfg.Warmup == 0 {
		cfg.Warmup = time.Second
	}
	run, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		measuring atomic.Bool
		relayed   atomic.Int64
		errs      atomic.Int64
		rec       recorder
		wg        sync.WaitGroup
	)
	type member struct {
		c    *peerconnection.Client
		peer int
	}
	members := make([]member, 0, 2*cfg.Pairs)
	for i := range cfg.Pairs {
		a, _, err := peerconnection.SignIn(ctx, t.Addr, fmt.Sprintf("bench-a%d", i))
		if err != nil {
			return LongPollResult{}, fmt.Errorf("sign in: %w", err)
		}
		b, _, err := peerconnection.SignIn(ctx, t.Addr, fmt.Sprintf("bench-b%d", i))
		if err != nil {
			return LongPollResult{}, fmt.Errorf("sign in: %w", err)
		}
		members = append(members, member{a, b.ID()}, member{b, a.ID()})
	}
	defer func() {
		for _, m := range members {
			sctx, c := context.WithTimeout(context.Background(), 5*time.Second)
			_ = m.c.SignOut(sctx)
			c()
		}
	}()
	// The protocol tells every member of each later sign-in: member i
	// has len(members)-1-i notices queued. Each member takes its notices
	// first, so that the exchange, measured from when all are done, does
	// not wait behind them.
	var drained sync.WaitGroup
	drained.Add(len(members))
	begin := make(chan struct{})
	var start time.Time
	for i, m := range members {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var samples []time.Duration
			defer func() { rec.merge(samples) }()
			notices := len(members) - 1 - i
			for notices > 0 {
				ev, err := m.c.Wait(run)
				if err != nil {
					errs.Add(1)
					drained.Done()
					return
				}
				if ev.Presence != nil {
					notices--
				}
			}
			drained.Done()
			select {
			case <-begin:
			case <-run.Done():
				return
			}
			payload := bytes.Repeat([]byte{'x'}, cfg.Payload)
			if i%2 == 0 { // a starts the exchange
				stampPayload(payload, time.Now())
				if err := m.c.Send(run, m.peer, payload); err != nil {
					errs.Add(1)
					return
				}
			}
			for run.Err() == nil {
				ev, err := m.c.Wait(run)
				if err != nil {
					if run.Err() == nil {
						errs.Add(1)
					}
					return
				}
				if ev.Presence != nil || ev.From != m.peer {
					continue
				}
				if measuring.Load() {
					if sent, ok := payloadStamp(ev.Body); ok {
						samples = append(samples, time.Since(sent))
					}
					relayed.Add(1)
				}
				stampPayload(payload, time.Now())
				if err := m.c.Send(run, m.peer, payload); err != nil {
					if run.Err() == nil {
						errs.Add(1)
					}
					return
				}
			}
		}()
	}
	drained.Wait()
	close(begin)
	if cfg.Warmup > 0 {
		sleepCtx(ctx, cfg.Warmup)
	}
	measuring.Store(true)
	start = time.Now()
	p := startProgress(cfg.Progress, "longpoll "+t.Name, timeFrac(cfg.Duration), func() string {
		return fmt.Sprintf("%.0f msg/s", float64(relayed.Load())/time.Since(start).Seconds())
	})
	sleepCtx(ctx, cfg.Duration)
	n := relayed.Load()
	elapsed := time.Since(start)
	p.end()
	cancel()
	wg.Wait()
	return LongPollResult{
		Server: t.Name, Pairs: cfg.Pairs, Payload: cfg.Payload, Seconds: elapsed.Seconds(),
		Relayed: n, PerSecond: float64(n) / elapsed.Seconds(), Latency: rec.summary(), Errors: errs.Load(),
	}, ctx.Err()
}
