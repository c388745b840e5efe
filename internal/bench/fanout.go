package bench

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// FanoutConfig configures the fanout load.
type FanoutConfig struct {
	Subscribers int           // default 10000
	Payload     int           // publication size in bytes; default 100
	Rate        int           // publications per second; default 200
	Duration    time.Duration // measured time; default 10s
	Warmup      time.Duration // unmeasured time first; default 1s
	Channel     string        // Switchboard channel; default "bench"
	Progress    io.Writer
}

func (c *FanoutConfig) defaults() {
	if c.Subscribers <= 0 {
		c.Subscribers = 10000
	}
	if c.Payload < stampLen+2 {
		c.Payload = max(c.Payload, 100, stampLen+2)
	}
	if c.Rate <= 0 {
		c.Rate = 200
	}
	if c.Duration <= 0 {
		c.Duration = 10 * time.Second
	}
	if c.Warmup == 0 {
		c.Warmup = time.Second
	}
	if c.Channel == "" {
		c.Channel = "bench"
	}
}

// FanoutResult is what the fanout load measured.
type FanoutResult struct {
	Server      string `json:"server"`
	Subscribers int    `json:"subscribers"`
	Payload     int    `json:"payload_bytes"`
	Rate        int    `json:"publications_per_second_offered"`
	// Seconds is the measured time: the publisher's window.
	Seconds   float64 `json:"seconds"`
	Published int64   `json:"published"`
	// Offered is Published × Subscribers, the deliveries the window
	// asked for; OfferedPerSecond is Rate × Subscribers.
	Offered          int64   `json:"offered"`
	OfferedPerSecond float64 `json:"offered_deliveries_per_second"`
	// Delivered is the deliveries the subscribers counted from the start
	// of the window until a moment (200 ms) after its end, so that the
	// window's last publications are counted; PerSecond is Delivered
	// over Seconds.
	Delivered int64   `json:"delivered"`
	PerSecond float64 `json:"deliveries_per_second"`
	// DeliveredShare is Delivered over Offered: below 1 the server
	// dropped publications (or had not written them 200 ms after the
	// window); slightly above 1 when deliveries of warm-up publications
	// arrived in the window.
	DeliveredShare float64 `json:"delivered_share"`
	Latency        Latency `json:"latency"`
	Errors         int64   `json:"errors"`
	// ServerCPU is the CPU seconds the server used in the measured time
	// (0 unknown); PerCPUSecond is Delivered over it.
	ServerCPU    float64 `json:"server_cpu_seconds"`
	PerCPUSecond float64 `json:"deliveries_per_server_cpu_second"`
}

// subscriberReadBuffer is a subscriber's read buffer: room for the
// dozens of frames a batching server writes at once.
const subscriberReadBuffer = 16 << 10

// sampleEvery is how many deliveries share one latency sample.
const sampleEvery = 8

// Fanout subscribes cfg.Subscribers connections to one channel and
// publishes cfg.Rate publications per second of cfg.Payload bytes, each
// stamped with its send time, for cfg.Duration after a warm-up. It
// measures deliveries per second (counted by the subscribers) and delivery
// latency (send to receipt, one delivery in sampleEvery).
func Fanout(ctx context.Context, t Target, cfg FanoutConfig) (FanoutResult, error) {
	cfg.defaults()
	subs, err := openSubscribers(ctx, t, cfg)
	defer closeAll(subs)
	if err != nil {
		return FanoutResult{}, err
	}
	pub, err := openPublisher(ctx, t)
	if err != nil {
		return FanoutResult{}, err
	}
	defer pub.close()

	var (
		measuring atomic.Bool
		stop      atomic.Bool
		delivered atomic.Int64
		errs      atomic.Int64
		rec       recorder
		wg        sync.WaitGroup
	)
	for _, c := range subs {
		c.growReader(subscriberReadBuffer)
		wg.Add(1)
		go func() {
			defer wg.Done()
			var samples []time.Duration
			defer func() { rec.merge(samples) }()
			var buf []byte
			var n, local int64
			for {
				_, msg, err := c.read(buf)
				if err != nil {
					if !stop.Load() {
						errs.Add(1)
					}
					break
				}
				buf = msg
				if !measuring.Load() {
					continue
				}
				n++
				local++
				if n%sampleEvery == 0 {
					if sent, ok := payloadStamp(msg); ok {
						samples = append(samples, time.Since(sent))
					}
				}
				if local == 8 {
					delivered.Add(local)
					local = 0
				}
			}
			delivered.Add(local)
		}()
	}
	// The publisher's replies (Switchboard) are read and dropped.
	go func() {
		var buf []byte
		for {
			_, msg, err := pub.c.read(buf)
			if err != nil {
				return
			}
			buf = msg
		}
	}()

	var published atomic.Int64
	publish := func(d time.Duration, count bool) error {
		payload := make([]byte, cfg.Payload)
		for i := range payload {
			payload[i] = 'x'
		}
		start := time.Now()
		sent := 0
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			el := time.Since(start)
			if el >= d || ctx.Err() != nil {
				return ctx.Err()
			}
			due := int(el.Seconds()*float64(cfg.Rate)) + 1
			for ; sent < due; sent++ {
				stampPayload(payload[1:], time.Now())
				if err := pub.publish(cfg.Channel, payload); err != nil {
					return err
				}
				if count {
					published.Add(1)
				}
			}
			<-tick.C
		}
	}
	if err := publish(cfg.Warmup, false); err != nil {
		return FanoutResult{}, err
	}
	measuring.Store(true)
	start := time.Now()
	cpu := startCPU(t.PID)
	p := startProgress(cfg.Progress, "fanout "+t.Name, timeFrac(cfg.Duration), func() string {
		return fmt.Sprintf("%.0f deliveries/s", float64(delivered.Load())/time.Since(start).Seconds())
	})
	err = publish(cfg.Duration, true)
	window := time.Since(start)
	// Deliveries of the window's last publications are still counted
	// for a moment; the rate divides by the window alone, which is
	// when the publications that make up the deliveries were sent.
	sleepCtx(ctx, 200*time.Millisecond)
	measuring.Store(false)
	used := cpu.used()
	p.end()
	stop.Store(true)
	closeAll(subs)
	pub.close()
	wg.Wait()
	if err != nil {
		return FanoutResult{}, err
	}
	n := delivered.Load()
	res := FanoutResult{
		Server: t.Name, Subscribers: cfg.Subscribers, Payload: cfg.Payload, Rate: cfg.Rate,
		Seconds: window.Seconds(), Published: published.Load(), Delivered: n,
		OfferedPerSecond: float64(cfg.Rate) * float64(cfg.Subscribers),
		PerSecond:        float64(n) / window.Seconds(), Latency: rec.summary(), Errors: errs.Load(),
		ServerCPU: used, PerCPUSecond: perCPU(n, used),
	}
	res.Offered = res.Published * int64(cfg.Subscribers)
	if res.Offered > 0 {
		res.DeliveredShare = float64(n) / float64(res.Offered)
	}
	return res, ctx.Err()
}

// openSubscribers connects the subscribers: on Switchboard each logs in
// and subscribes to the channel; on the simple servers /sub is enough.
func openSubscribers(ctx context.Context, t Target, cfg FanoutConfig) ([]*wsConn, error) {
	if t.Protocol != ProtocolSwitchboard {
		return openConns(ctx, t, cfg.Subscribers, "/sub", "", cfg.Progress)
	}
	conns, err := openConns(ctx, t, cfg.Subscribers, "/ws", "protoo", cfg.Progress)
	if err != nil {
		return conns, err
	}
	return conns, loginAll(ctx, t, conns, cfg.Channel, cfg.Progress)
}

// loginAll logs every connection in (as "bench-N") and, when channel is
// not empty, subscribes it.
func loginAll(ctx context.Context, t Target, conns []*wsConn, channel string, w io.Writer) error {
	var done atomic.Int64
	p := startProgress(w, "login "+t.Name, countFrac(done.Load, len(conns)), func() string { return fmt.Sprintf("%d/%d", done.Load(), len(conns)) })
	defer p.end()
	var (
		next     atomic.Int64
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(conns) || ctx.Err() != nil {
					return
				}
				pc := &protoo{c: conns[i]}
				err := pc.call("login", map[string]string{"name": fmt.Sprintf("bench-%d", i)})
				if err == nil && channel != "" {
					err = pc.call("subscribe", map[string]string{"channel": channel})
				}
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("subscriber %d on %s: %w", i+1, t.Name, err)
					}
					mu.Unlock()
					next.Store(int64(len(conns)))
					return
				}
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}

// publisher sends publications in the target's protocol.
type publisher struct {
	c  *wsConn
	pc *protoo // Switchboard only
}

func openPublisher(ctx context.Context, t Target) (*publisher, error) {
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if t.Protocol != ProtocolSwitchboard {
		c, err := dialWS(dctx, t.Addr, "/pub", "")
		if err != nil {
			return nil, fmt.Errorf("publisher: %w", err)
		}
		return &publisher{c: c}, nil
	}
	c, err := dialWS(dctx, t.Addr, "/ws", "protoo")
	if err != nil {
		return nil, fmt.Errorf("publisher: %w", err)
	}
	p := &publisher{c: c, pc: &protoo{c: c}}
	if err := p.pc.call("login", map[string]string{"name": "bench-publisher"}); err != nil {
		c.close()
		return nil, fmt.Errorf("publisher: %w", err)
	}
	return p, nil
}

// publish sends payload; its first and last bytes are overwritten with
// quotes for Switchboard, where data is a JSON string.
func (p *publisher) publish(channel string, payload []byte) error {
	if p.pc == nil {
		return p.c.write(0x1, payload)
	}
	payload[0], payload[len(payload)-1] = '"', '"'
	return p.pc.request("publish", rawJSONPub{Channel: channel, Data: payload})
}

type rawJSONPub struct {
	Channel string      `json:"channel"`
	Data    rawJSONData `json:"data"`
}

// rawJSONData is already-encoded JSON.
type rawJSONData []byte

func (r rawJSONData) MarshalJSON() ([]byte, error) { return r, nil }

func (p *publisher) close() { p.c.close() }
