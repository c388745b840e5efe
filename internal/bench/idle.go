package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// IdleConfig configures the idle-memory load.
type IdleConfig struct {
	Connections int  // default 10000
	Login       bool // Switchboard: log each connection in
	Subscribe   bool // Switchboard: also subscribe each to "bench"; simple servers: connect to /sub
	// Settle is how long to wait after the last connection before
	// reading memory. Default 2s.
	Settle   time.Duration
	Progress io.Writer
}

// IdleResult is the server's memory with the connections open.
type IdleResult struct {
	Server      string `json:"server"`
	Connections int    `json:"connections"`
	Login       bool   `json:"login"`
	Subscribe   bool   `json:"subscribe"`
	Before      Memory `json:"before"`
	After       Memory `json:"after"`
	// RSSMeasured says whether the resident memory was read (it needs
	// Target.PID, a process on this machine); RSSPerConn is meaningless
	// without it.
	RSSMeasured bool    `json:"rss_measured"`
	RSSPerConn  float64 `json:"rss_kb_per_connection"`
	// HeapMeasured says whether the Go heap was read from /debug/vars
	// (Switchboard: serve --debug-vars); HeapPerConn is meaningless
	// without it.
	HeapMeasured bool    `json:"heap_measured"`
	HeapPerConn  float64 `json:"heap_kb_per_connection"`
}

// The hints of a figure that was not measured: what to pass.
const (
	RSSNotMeasured  = "not measured (pass --pid with the server's process id on this machine)"
	HeapNotMeasured = "not measured (Switchboard: run the server with serve --debug-vars)"
)

// ErrNotMeasured is returned by Idle when it could read neither the
// resident memory nor the Go heap.
var ErrNotMeasured = errors.New("idle: nothing measured: pass --pid with the server's process id, or run Switchboard with serve --debug-vars")

// Idle reads the server's memory, opens cfg.Connections connections that
// then stay silent, waits cfg.Settle, reads the memory again and reports
// the growth per connection.
func Idle(ctx context.Context, t Target, cfg IdleConfig) (IdleResult, error) {
	if cfg.Connections <= 0 {
		cfg.Connections = 10000
	}
	if cfg.Settle <= 0 {
		cfg.Settle = 2 * time.Second
	}
	res := IdleResult{Server: t.Name, Connections: cfg.Connections, Login: cfg.Login || cfg.Subscribe, Subscribe: cfg.Subscribe}
	res.Before = readMemory(ctx, t)
	path, sub := "/echo", ""
	switch {
	case t.Protocol == ProtocolSwitchboard && res.Login:
		path, sub = "/ws", "protoo"
	case cfg.Subscribe:
		path = "/sub"
	}
	conns, err := openConns(ctx, t, cfg.Connections, path, sub, cfg.Progress)
	defer closeAll(conns)
	if err != nil {
		return res, err
	}
	if t.Protocol == ProtocolSwitchboard && res.Login {
		channel := ""
		if cfg.Subscribe {
			channel = "bench"
		}
		if err := loginAll(ctx, t, conns, channel, cfg.Progress); err != nil {
			return res, err
		}
	}
	p := startProgress(cfg.Progress, "settle "+t.Name, timeFrac(cfg.Settle), func() string { return "" })
	sleepCtx(ctx, cfg.Settle)
	p.end()
	res.After = readMemory(ctx, t)
	// A live process has a resident size and a Go server a heap: a zero
	// is a figure that could not be read.
	perConn := func(before, after int64) float64 {
		return float64(after-before) / 1024 / float64(cfg.Connections)
	}
	if res.RSSMeasured = res.Before.RSSBytes > 0 && res.After.RSSBytes > 0; res.RSSMeasured {
		res.RSSPerConn = perConn(res.Before.RSSBytes, res.After.RSSBytes)
	}
	if res.HeapMeasured = res.Before.HeapBytes > 0 && res.After.HeapBytes > 0; res.HeapMeasured {
		res.HeapPerConn = perConn(res.Before.HeapBytes, res.After.HeapBytes)
	}
	if err := ctx.Err(); err != nil {
		return res, err
	}
	if !res.RSSMeasured && !res.HeapMeasured {
		return res, ErrNotMeasured
	}
	return res, nil
}

// RSSText is the resident memory per connection, or why it is missing.
func (r IdleResult) RSSText() string {
	if !r.RSSMeasured {
		return RSSNotMeasured
	}
	return fmt.Sprintf("%.1f KB/conn", r.RSSPerConn)
}

// HeapText is the Go heap per connection, or why it is missing.
func (r IdleResult) HeapText() string {
	if !r.HeapMeasured {
		return HeapNotMeasured
	}
	return fmt.Sprintf("%.1f KB/conn", r.HeapPerConn)
}

func (r IdleResult) String() string {
	return fmt.Sprintf("%s: %d connections, RSS %s, Go heap %s", r.Server, r.Connections, r.RSSText(), r.HeapText())
}
