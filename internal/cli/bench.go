package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/switchboard/switchboard/internal/bench"
)

const benchUsage = `Usage: switchboard bench <load> [flags]

A load generator for WebSocket servers. Loads:
  echo      N connections send messages to /echo and wait for the echo: messages/s, latency
  fanout    N subscribers on one channel, a publisher at a set rate: deliveries/s, delivery latency
  idle      open N silent connections, then read the server's memory per connection
  longpoll  pairs of peerconnection members relaying messages (Switchboard only)
  suite     start Switchboard and the bench/peers servers, run every load on each, write BENCHMARKS.md

Each load prints a table and, with --json FILE ("-" for stdout), the result as JSON.
--protocol says what the server speaks: switchboard (protoo on /ws, echo on /echo)
or simple (the bench/peers servers: /echo, /sub, /pub).
The open-files limit is raised to the hard limit; loads that do not fit it are refused.

Run 'switchboard bench <load> --help' for its flags.
`

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		w := stderr
		if len(args) > 0 {
			w = stdout
		}
		io.WriteString(w, benchUsage)
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	load, args := args[0], args[1:]
	fs := flag.NewFlagSet("bench "+load, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		addr     = fs.String("addr", "127.0.0.1:8888", "server `host:port`")
		protocol = fs.String("protocol", "switchboard", "what the server speaks: switchboard or simple (bench/peers)")
		name     = fs.String("name", "", "server name in the output (default the protocol)")
		jsonOut  = fs.String("json", "", "also write the result as JSON to `file` (- for stdout)")
		quiet    = fs.Bool("quiet", false, "no progress bars")
		cpuprof  = fs.String("cpuprofile", "", "write the generator's own CPU profile to `file`")
		pid      = fs.Int("pid", 0, "the server's process `id` on this machine: its CPU time (echo, fanout) and resident memory (idle) are read from /proc")
	)
	var run func(context.Context, bench.Target, io.Writer) (any, error)
	var conns *int // the connections the load opens, checked against the open-files limit
	switch load {
	case "echo":
		var c bench.EchoConfig
		conns = &c.Connections
		fs.IntVar(&c.Connections, "connections", 1000, "connections (`n`)")
		fs.IntVar(&c.Payload, "payload", 512, "message size in `bytes`")
		fs.IntVar(&c.Concurrency, "concurrency", 1, "messages in flight per connection (`n`)")
		fs.DurationVar(&c.Duration, "duration", 10*time.Second, "measured `time`")
		fs.DurationVar(&c.Warmup, "warmup", time.Second, "unmeasured `time` first")
		run = func(ctx context.Context, t bench.Target, p io.Writer) (any, error) {
			c.Progress = p
			return bench.Echo(ctx, t, c)
		}
	case "fanout":
		var c bench.FanoutConfig
		conns = &c.Subscribers
		fs.IntVar(&c.Subscribers, "subscribers", 10000, "subscribers (`n`)")
		fs.IntVar(&c.Payload, "payload", 100, "publication size in `bytes`")
		fs.IntVar(&c.Rate, "rate", 200, "publications per second (`n`); the default offers 2M deliveries per second to 10,000 subscribers, more than 2 cores deliver")
		fs.DurationVar(&c.Duration, "duration", 10*time.Second, "measured `time`")
		fs.DurationVar(&c.Warmup, "warmup", time.Second, "unmeasured `time` first")
		fs.StringVar(&c.Channel, "channel", "bench", "Switchboard `channel`")
		run = func(ctx context.Context, t bench.Target, p io.Writer) (any, error) {
			c.Progress = p
			return bench.Fanout(ctx, t, c)
		}
	case "idle":
		var c bench.IdleConfig
		conns = &c.Connections
		fs.IntVar(&c.Connections, "connections", 10000, "connections (`n`)")
		fs.BoolVar(&c.Login, "login", false, "Switchboard: log each connection in")
		fs.BoolVar(&c.Subscribe, "subscribe", false, "log in and subscribe each connection (simple servers: connect to /sub)")
		fs.DurationVar(&c.Settle, "settle", 2*time.Second, "wait this `long` before reading memory")
		run = func(ctx context.Context, t bench.Target, p io.Writer) (any, error) {
			c.Progress = p
			return bench.Idle(ctx, t, c)
		}
	case "longpoll":
		var c bench.LongPollConfig
		fs.IntVar(&c.Pairs, "pairs", 50, "member pairs (`n`); the protocol tells every member of each later sign-in, and these notices, taken before the measured time, grow with the square of the members")
		fs.IntVar(&c.Payload, "payload", 256, "message size in `bytes`")
		fs.DurationVar(&c.Duration, "duration", 10*time.Second, "measured `time`")
		run = func(ctx context.Context, t bench.Target, p io.Writer) (any, error) {
			c.Progress = p
			return bench.LongPoll(ctx, t, c)
		}
	case "suite":
		return runBenchSuite(ctx, args, stdout, stderr)
	default:
		fmt.Fprintf(stderr, "Error: unknown load %q\n\n%s", load, benchUsage)
		return errUsage
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if conns != nil {
		if err := checkConns(*conns); err != nil {
			return err
		}
	}
	proto, err := bench.ParseProtocol(*protocol)
	if err != nil {
		return err
	}
	t := bench.Target{Name: *name, Addr: strings.TrimPrefix(strings.TrimPrefix(*addr, "ws://"), "http://"), Protocol: proto, PID: *pid}
	if t.Name == "" {
		t.Name = proto.String()
	}
	var progress io.Writer = stderr
	if *quiet {
		progress = nil
	}
	if *cpuprof != "" {
		f, err := os.Create(*cpuprof)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	res, err := run(ctx, t, progress)
	if err != nil {
		return err
	}
	printTable(stdout, res)
	return writeJSON(*jsonOut, stdout, res)
}

func checkConns(n int) error {
	limit, err := bench.RaiseFileLimit()
	if err != nil {
		return err
	}
	return bench.CheckConnections(n, limit)
}

func printTable(w io.Writer, res any) {
	switch r := res.(type) {
	case bench.EchoResult:
		fmt.Fprintf(w, "echo      %s: %d connections, %d B, %d in flight\n  %.0f messages/s over %.1f s, latency %s, errors %d\n",
			r.Server, r.Connections, r.Payload, r.Concurrency, r.PerSecond, r.Seconds, r.Latency, r.Errors)
		if r.ServerCPU > 0 {
			fmt.Fprintf(w, "  server CPU %.2f s: %.0f messages per CPU-second\n", r.ServerCPU, r.PerCPUSecond)
		}
	case bench.FanoutResult:
		fmt.Fprintf(w, "fanout    %s: %d subscribers, %d B at %d/s\n  %.0f deliveries/s over %.1f s (%.1f%% of publications x subscribers), latency %s, errors %d\n",
			r.Server, r.Subscribers, r.Payload, r.Rate, r.PerSecond, r.Seconds, 100*r.DeliveredShare, r.Latency, r.Errors)
		if r.ServerCPU > 0 {
			fmt.Fprintf(w, "  server CPU %.2f s: %.0f deliveries per CPU-second\n", r.ServerCPU, r.PerCPUSecond)
		}
	case bench.IdleResult:
		fmt.Fprintf(w, "idle      %s\n  RSS %.1f -> %.1f MB, Go heap %.1f -> %.1f MB\n", r,
			float64(r.Before.RSSBytes)/(1<<20), float64(r.After.RSSBytes)/(1<<20), float64(r.Before.HeapBytes)/(1<<20), float64(r.After.HeapBytes)/(1<<20))
	case bench.LongPollResult:
		fmt.Fprintf(w, "longpoll  %s: %d pairs, %d B\n  %.0f messages relayed/s over %.1f s, latency %s, errors %d\n",
			r.Server, r.Pairs, r.Payload, r.PerSecond, r.Seconds, r.Latency, r.Errors)
	}
}

func writeJSON(path string, stdout io.Writer, v any) error {
	if path == "" {
		return nil
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if path == "-" {
		_, err = stdout.Write(b)
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

func runBenchSuite(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench suite", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sb := fs.String("switchboard", "./switchboard", "the switchboard `binary` to benchmark")
	gws := fs.String("gws", "bench/peers/bin/gws", "the gws comparison server `binary` (bench/peers/gws); empty skips it")
	gorilla := fs.String("gorilla", "bench/peers/bin/gorilla", "the gorilla/websocket comparison server `binary` (bench/peers/gorilla); empty skips it")
	batch := fs.Duration("batch-delay", 5*time.Millisecond, "also run fanout on Switchboard with serve --batch-delay set to this `delay`; 0 skips that variant")
	full := fs.Bool("full", false, "the larger sizes of make bench-full (about four minutes)")
	out := fs.String("out", ".", "`directory` for BENCHMARKS.md")
	charts := fs.String("charts", "bench/results", "`directory` for the charts and bench.json, relative to --out")
	quiet := fs.Bool("quiet", false, "no progress bars")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "Usage: switchboard bench suite [flags]\n\nStarts each server as a child process for each load (echo, fanout, idle; longpoll on\nSwitchboard only), one after another, and writes BENCHMARKS.md with the results,\ntheir ratios to gws, an SVG chart per load and bench.json.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	servers := []bench.Server{bench.SwitchboardServer("switchboard", *sb)}
	if *batch > 0 {
		v := bench.SwitchboardServer("switchboard+batch", *sb, "--batch-delay", batch.String())
		v.FanoutOnly = true
		servers = append(servers, v)
	}
	if *gws != "" {
		servers = append(servers, bench.PeerServer("gws", *gws))
	}
	if *gorilla != "" {
		servers = append(servers, bench.PeerServer("gorilla", *gorilla))
	}
	cfg := bench.QuickSuite()
	if *full {
		cfg = bench.FullSuite()
	}
	cfg.Log = stdout
	cfg.BatchDelay = *batch
	if !*quiet {
		cfg.Progress = stderr
	}
	start := time.Now()
	res, err := bench.RunSuite(ctx, servers, cfg)
	if err != nil {
		return err
	}
	if err := bench.WriteReport(res, *out, *charts); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s/BENCHMARKS.md in %s\n", *out, time.Since(start).Round(time.Second))
	return nil
}
