package bench

import (
	"encoding/json"
	"fmt"
	"html"
	"os"
	"path/filepath"
	"strings"
)

// bar is one bar of a chart.
type bar struct {
	label string
	value float64
}

// WriteReport writes dir/BENCHMARKS.md, and beside it in chartDir (a
// path relative to dir) bench.json and one SVG chart per scenario.
func WriteReport(res *SuiteResult, dir, chartDir string) error {
	if err := os.MkdirAll(filepath.Join(dir, chartDir), 0o755); err != nil {
		return err
	}
	js, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, chartDir, "bench.json"), append(js, '\n'), 0o644); err != nil {
		return err
	}
	var b strings.Builder
	mode := "quick (`make bench`)"
	if res.Full {
		mode = "full (`make bench-full`)"
	}
	fmt.Fprintf(&b, "# Benchmarks\n\nWritten by `switchboard bench suite` on %s, %s mode. Machine: %d CPUs, %d GiB, Linux %s, %s; open-files limit %d.\n\n",
		res.Started.Format("2006-01-02 15:04 UTC"), mode, res.Machine.CPUs, res.Machine.MemGiB, res.Machine.Kernel, res.Machine.Go, res.FileLimit)
	b.WriteString("The load generator and the servers share the machine: absolute numbers depend on it and on whatever else runs there, so compare the **ratios**, measured one server after another in the same run (each scenario starts a fresh server process). The comparison servers are in `bench/peers`: the same small echo and broadcast server on [gws](https://github.com/lxzan/gws) (its `Broadcaster`: one encoded frame, one write per recipient on its async queue) and on [gorilla/websocket](https://github.com/gorilla/websocket) (its chat-example hub: a `PreparedMessage`, a buffered channel and a writer goroutine per connection). Ratios are against gws. Besides throughput, echo and fanout report the server's own CPU time in the measured window (/proc/PID/stat) and the work done per server CPU-second: on a 2-core machine shared with the generator, throughput is often capped by the generator and the kernel's loopback, and the per-CPU-second figure says how much each server spends. Raw results: [`" + chartDir + "/bench.json`](" + chartDir + "/bench.json).\n\n")
	if len(res.Failures) > 0 {
		b.WriteString("**Failures in this run:**\n\n")
		for _, f := range res.Failures {
			fmt.Fprintf(&b, "- %s\n", f)
		}
		b.WriteString("\n")
	}

	ratio := func(v, base float64) string {
		if base <= 0 {
			return "–"
		}
		return fmt.Sprintf("%.2fx", v/base)
	}
	chart := func(name, title, unit string, bars []bar) {
		path := filepath.Join(chartDir, name+".svg")
		if err := os.WriteFile(filepath.Join(dir, path), []byte(svgBars(title, unit, bars)), 0o644); err == nil {
			fmt.Fprintf(&b, "\n![%s](%s)\n\n", title, filepath.ToSlash(path))
		}
	}

	if len(res.Echo) > 0 {
		e := res.Echo[0]
		fmt.Fprintf(&b, "## Echo\n\n%d connections, %d-byte binary messages, %d in flight per connection, %.0f s measured. Switchboard serves it on `/echo`. ", e.Connections, e.Payload, e.Concurrency, e.Seconds)
		if len(res.EchoRounds) > 1 {
			fmt.Fprintf(&b, "Echo ran %d rounds, the servers taking turns, each round in a fresh process; the table shows each server's median round (messages/s of every round: %s).", len(res.EchoRounds), echoRoundList(res.EchoRounds))
		}
		b.WriteString("\n\n")
		b.WriteString("| server | messages/s | vs gws | server CPU s | messages per server CPU-s | vs gws | p50 ms | p99 ms | p99.9 ms | errors |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
		g := gwsRow(res.Echo, func(r EchoResult) string { return r.Server })
		base, cbase := g.PerSecond, g.PerCPUSecond
		var bars []bar
		for _, r := range res.Echo {
			fmt.Fprintf(&b, "| %s | %.0f | %s | %.2f | %.0f | %s | %.2f | %.2f | %.2f | %d |\n", r.Server, r.PerSecond, ratio(r.PerSecond, base), r.ServerCPU, r.PerCPUSecond, ratio(r.PerCPUSecond, cbase), r.Latency.P50Ms, r.Latency.P99Ms, r.Latency.P999Ms, r.Errors)
			bars = append(bars, bar{r.Server, r.PerSecond})
		}
		chart("echo", "Echo: messages per second (higher is better)", "msg/s", bars)
	}
	if len(res.Fanout) > 0 {
		f := res.Fanout[0]
		fmt.Fprintf(&b, "## Fanout\n\n%d subscribers on one channel, a publisher sending %d publications/s of %d bytes (%.1fM deliveries/s offered), %.0f s measured. Switchboard: protoo `login` + `subscribe` on `/ws`, `publish` requests (each delivery also carries the protoo `publication` envelope, about 90 bytes more than the peers' raw payload); peers: `/sub` and `/pub`. Latency is from the publisher's send to a subscriber's receipt (one delivery in %d sampled). \"delivered\" is deliveries over publications × subscribers: below 100%% the server dropped publications for subscribers it could not keep up with, or had not written them by the end of the window (Switchboard and gorilla drop; gws queues without bound). Switchboard queues each publication's one encoded frame on every subscriber and a shared flusher per CPU writes each subscriber's queue with one writev, so publications that arrive while it works through the others leave together, without a goroutine wake-up per recipient; `switchboard+batch` is the same server with `serve --batch-delay %s`, where publications also wait up to that long for the flusher's next timed round. The peers write each publication to each subscriber on its own.\n\n",
			f.Subscribers, f.Rate, f.Payload, float64(f.Rate*f.Subscribers)/1e6, f.Seconds, sampleEvery, res.BatchDelay)
		b.WriteString("| server | deliveries/s | vs gws | server CPU s | deliveries per server CPU-s | vs gws | delivered | p50 ms | p99 ms | p99.9 ms | errors |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
		g := gwsRow(res.Fanout, func(r FanoutResult) string { return r.Server })
		base, cbase := g.PerSecond, g.PerCPUSecond
		var bars []bar
		for _, r := range res.Fanout {
			fmt.Fprintf(&b, "| %s | %.0f | %s | %.2f | %.0f | %s | %.1f%% | %.2f | %.2f | %.2f | %d |\n", r.Server, r.PerSecond, ratio(r.PerSecond, base), r.ServerCPU, r.PerCPUSecond, ratio(r.PerCPUSecond, cbase), 100*r.DeliveredShare, r.Latency.P50Ms, r.Latency.P99Ms, r.Latency.P999Ms, r.Errors)
			bars = append(bars, bar{r.Server, r.PerSecond})
		}
		chart("fanout", "Fanout: deliveries per second (higher is better)", "deliveries/s", bars)
	}
	if len(res.Idle) > 0 {
		i := res.Idle[0]
		what := "connected"
		if i.Subscribe {
			what = "logged in and subscribed to one channel (peers: on /sub)"
		} else if i.Login {
			what = "logged in (Switchboard: a protoo session on /ws; peers: plain on /echo)"
		}
		fmt.Fprintf(&b, "## Idle memory\n\n%d silent connections, %s. Growth of the server's resident memory (VmRSS in /proc/PID/status) and Go heap in use (`/debug/vars`) over the idle server, per connection. `switchboard (plain)` holds the same connections as the peers: plain WebSocket connections on `/echo`, no session.\n\n", i.Connections, what)
		b.WriteString("| server | RSS KB/conn | vs gws | Go heap KB/conn | RSS total MB |\n|---|---:|---:|---:|---:|\n")
		base := gwsRow(res.Idle, func(r IdleResult) string { return r.Server }).RSSPerConn
		var bars []bar
		for _, r := range res.Idle {
			rss, vs, heap, total := "not measured", "", "not measured", "not measured"
			if r.RSSMeasured {
				rss, vs, total = fmt.Sprintf("%.1f", r.RSSPerConn), ratio(r.RSSPerConn, base), fmt.Sprintf("%.0f", float64(r.After.RSSBytes)/(1<<20))
				bars = append(bars, bar{r.Server, r.RSSPerConn})
			}
			if r.HeapMeasured {
				heap = fmt.Sprintf("%.1f", r.HeapPerConn)
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", r.Server, rss, vs, heap, total)
		}
		chart("idle", "Idle: resident KB per connection (lower is better)", "KB/conn", bars)
	}
	if len(res.LongPoll) > 0 {
		l := res.LongPoll[0]
		fmt.Fprintf(&b, "## Long-poll (peerconnection)\n\n%d pairs of WebRTC peerconnection members relaying a %d-byte message back and forth (hanging GET /wait, POST /message, a TCP connection per request as in the protocol), %.0f s, measured once every member has taken the sign-in notices the protocol queues for it (one per later member). Switchboard only: the peers do not speak this protocol.\n\n", l.Pairs, l.Payload, l.Seconds)
		b.WriteString("| server | relayed/s | p50 ms | p99 ms | p99.9 ms | errors |\n|---|---:|---:|---:|---:|---:|\n")
		var bars []bar
		for _, r := range res.LongPoll {
			fmt.Fprintf(&b, "| %s | %.0f | %.2f | %.2f | %.2f | %d |\n", r.Server, r.PerSecond, r.Latency.P50Ms, r.Latency.P99Ms, r.Latency.P999Ms, r.Errors)
			bars = append(bars, bar{r.Server, r.PerSecond})
		}
		chart("longpoll", "Long-poll: messages relayed per second", "msg/s", bars)
	}
	b.WriteString("## Sizes and limits\n\nThe generator raises its open-files limit to the hard limit and each server inherits it. The generator and the server each hold one socket per connection, in separate processes, so a load fits when its connections plus a small reserve stay under the limit (`switchboard bench` refuses bigger loads and says why). With a hard limit of 20,000 the defaults are: fanout 10,000 subscribers, idle 15,000 connections (19,000 in `--full`). Reproduce with `make bench` (quick, under 3 minutes) or `make bench-full`; one load against any server with `switchboard bench echo|fanout|idle|longpoll --help`.\n")
	return os.WriteFile(filepath.Join(dir, "BENCHMARKS.md"), []byte(b.String()), 0o644)
}

// gwsRow returns the result of gws, the baseline of the ratios, or the
// zero value (no ratios) when gws did not run.
func gwsRow[T any](rows []T, server func(T) string) T {
	for _, r := range rows {
		if server(r) == "gws" {
			return r
		}
	}
	var zero T
	return zero
}

// echoRoundList lists each server's messages/s round by round.
func echoRoundList(rounds [][]EchoResult) string {
	names, by := byServer(rounds)
	var parts []string
	for _, n := range names {
		var vs []string
		for _, r := range by[n] {
			vs = append(vs, fmt.Sprintf("%.0f", r.PerSecond))
		}
		parts = append(parts, n+" "+strings.Join(vs, ", "))
	}
	return strings.Join(parts, "; ")
}

// svgBars draws a horizontal bar chart.
func svgBars(title, unit string, bars []bar) string {
	const (
		width, left, right, rowH, top = 680, 150, 130, 34, 44
	)
	maxV := 0.0
	for _, b := range bars {
		maxV = max(maxV, b.value)
	}
	if maxV <= 0 {
		maxV = 1
	}
	height := top + rowH*len(bars) + 16
	colors := []string{"#2b6cb0", "#718096", "#a0aec0", "#4a5568"}
	var s strings.Builder
	fmt.Fprintf(&s, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="13">`+"\n", width, height, width, height)
	fmt.Fprintf(&s, `<rect width="100%%" height="100%%" fill="#fff"/>`+"\n")
	fmt.Fprintf(&s, `<text x="10" y="24" font-size="15" font-weight="bold">%s</text>`+"\n", html.EscapeString(title))
	for i, b := range bars {
		y := top + i*rowH
		w := int(float64(width-left-right) * b.value / maxV)
		fmt.Fprintf(&s, `<text x="%d" y="%d" text-anchor="end">%s</text>`+"\n", left-8, y+18, html.EscapeString(b.label))
		fmt.Fprintf(&s, `<rect x="%d" y="%d" width="%d" height="24" fill="%s"/>`+"\n", left, y+2, max(w, 1), colors[i%len(colors)])
		fmt.Fprintf(&s, `<text x="%d" y="%d">%s %s</text>`+"\n", left+max(w, 1)+6, y+18, humanNumber(b.value), html.EscapeString(unit))
	}
	s.WriteString("</svg>\n")
	return s.String()
}

func humanNumber(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e4:
		return fmt.Sprintf("%.0fk", v/1e3)
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}
