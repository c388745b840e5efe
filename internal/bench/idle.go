package bench

import (
	"context"
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
	Server      string  `json:"server"`
	Connections int     `json:"connections"`
	Login       bool    `json:"login"`
	Subscribe   bool    `json:"subscribe"`
	Before      Memory  `json:"before"`
	After       Memory  `json:"after"`
	RSSPerConn  float64 `json:"rss_kb_per_connection"`  // 0 unknown
	HeapPerConn float64 `json:"heap_kb_per_connection"` // 0 unknown
}

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
	perConn := func(before, after int64) float64 {
		if after == 0 {
			return 0
		}
		return float64(after-before) / 1024 / float64(cfg.Connections)
	}
	res.RSSPerConn = perConn(res.Before.RSSBytes, res.After.RSSBytes)
	res.HeapPerConn = perConn(res.Before.HeapBytes, res.After.HeapBytes)
	return res, ctx.Err()
}

func (r IdleResult) String() string {
	return fmt.Sprintf("%s: %d connections, RSS %.1f KB/conn, Go heap %.1f KB/conn", r.Server, r.Connections, r.RSSPerConn, r.HeapPerConn)
}
