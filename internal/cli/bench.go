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
	fs := newFlagSet("bench " + load)
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
	var intro string
	var conns *int // the connections the load opens, checked against the open-files limit
	switch load {
	case "echo":
		var c bench.EchoConfig
		conns = &c.Connections
		fs.IntVar(&c.Connections, "connections", 1000, "open `n` connections")
		fs.IntVar(&c.Payload, "payload", 512, "message size in `bytes`")
		fs.IntVar(&c.Concurrency, "concurrency", 1, "keep `n` messages in flight per connection")
		durationFlags(fs, &c.Duration, &c.Warmup)
		intro = benchEchoIntro
		run = func(ctx context.Context, t bench.Target, p io.Writer) (any, error) {
			c.Progress = p
			return bench.Echo(ctx, t, c)
		}
	case "fanout":
		var c bench.FanoutConfig
		conns = &c.Subscribers
		fs.IntVar(&c.Subscribers, "subscribers", 10000, "subscribe `n` connections")
		fs.IntVar(&c.Payload, "payload", 100, "publication size in `bytes`")
		fs.IntVar(&c.Rate, "rate", 200, "publish `n` publications per second; the default offers 2M deliveries per second to 10,000 subscribers, more than 2 cores deliver")
		durationFlags(fs, &c.Duration, &c.Warmup)
		fs.StringVar(&c.Channel, "channel", "bench", "Switchboard `channel`")
		intro = benchFanoutIntro
		run = func(ctx context.Context, t bench.Target, p io.Writer) (any, error) {
			c.Progress = p
			return bench.Fanout(ctx, t, c)
		}
	case "idle":
		var c bench.IdleConfig
		conns = &c.Connections
		fs.IntVar(&c.Connections, "connections", 10000, "open `n` connections")
		fs.BoolVar(&c.Login, "login", false, "Switchboard: log each connection in")
		fs.BoolVar(&c.Subscribe, "subscribe", false, "log in and subscribe each connection (simple servers: connect to /sub)")
		fs.DurationVar(&c.Settle, "settle", 2*time.Second, "how long to wait with every connection open before reading the memory again")
		intro = benchIdleIntro
		run = func(ctx context.Context, t bench.Target, p io.Writer) (any, error) {
			c.Progress = p
			return bench.Idle(ctx, t, c)
		}
	case "longpoll":
		var c bench.LongPollConfig
		fs.IntVar(&c.Pairs, "pairs", 50, "sign in `n` pairs of members; the protocol tells every member of each later sign-in, and these notices, taken before the measured time, grow with the square of the members")
		fs.IntVar(&c.Payload, "payload", 256, "message size in `bytes`")
		durationFlags(fs, &c.Duration, &c.Warmup)
		intro = benchLongPollIntro
		run = func(ctx context.Context, t bench.Target, p io.Writer) (any, error) {
			c.Progress = p
			return bench.LongPoll(ctx, t, c)
		}
	case "suite":
		return runBenchSuite(ctx, args, stdout, stderr)
	default:
		fmt.Fprintf(stderr, "Error: unknown load %q (want echo, fanout, idle, longpoll or suite)\n%s\n", load, helpHint("bench"))
		return errUsage
	}
	if err := parseFlags(fs, args, intro+benchCommonIntro, stdout, stderr); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("bench %s takes no arguments, got %q", load, strings.Join(fs.Args(), " "))
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
	if errors.Is(err, bench.ErrNotMeasured) {
		// The table says which figure is missing and what to pass.
		printTable(stdout, res)
		return err
	}
	if err != nil {
		return err
	}
	printTable(stdout, res)
	return writeJSON(*jsonOut, stdout, res)
}

// durationFlags registers --duration and --warmup, which the echo,
// fanout and longpoll loads share.
func durationFlags(fs *flag.FlagSet, duration, warmup *time.Duration) {
	fs.DurationVar(duration, "duration", 10*time.Second, "measured time")
	*warmup = time.Second
	fs.Var((*warmupFlag)(warmup), "warmup", "unmeasured load for this `duration` first, so that the measured time starts warm; 0 skips it")
}

// warmupFlag is --warmup: a duration whose 0 means none, where the bench
// configurations' zero means the default and a negative value none.
type warmupFlag time.Duration

func (w *warmupFlag) String() string { return time.Duration(*w).String() }

func (w *warmupFlag) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return errors.New("want a duration such as 1s")
	}
	if d <= 0 {
		d = -1
	}
	*w = warmupFlag(d)
	return nil
}

// The tops of `bench LOAD --help`; the flags follow them.
const (
	benchEchoIntro = `Usage: switchboard bench echo [flags]

Opens --connections WebSockets to /echo; each sends a --payload-byte binary
message and waits for its echo (--concurrency at a time), for --warmup and
then --duration. Prints messages/s, latency and, with --pid, the server's CPU.
`
	benchFanoutIntro = `Usage: switchboard bench fanout [flags]

Subscribes --subscribers connections to one channel and publishes --rate
publications/s of --payload bytes, for --warmup and then --duration. Prints
the deliveries offered (publications x subscribers) and those delivered,
per second and as a share, delivery latency and, with --pid, the server's CPU.
`
	benchIdleIntro = `Usage: switchboard bench idle [flags]

Reads the server's memory, opens --connections silent WebSockets, waits
--settle and reads it again: resident memory (RSS, needs --pid of a server
on this machine) and Go heap (Switchboard: serve --debug-vars) per
connection. A figure that cannot be read is printed as "not measured" with
what to pass; when neither can be read the exit status is 1.
`
	benchLongPollIntro = `Usage: switchboard bench longpoll [flags]

Signs in --pairs pairs of WebRTC peerconnection members; in each pair a
--payload-byte message goes back and forth (hanging GET /wait, POST
/message), for --warmup and then --duration. Prints messages relayed/s and
latency. Switchboard only.
`
	benchCommonIntro = `
--protocol says what the server speaks: switchboard (protoo on /ws, echo
on /echo) or simple (the bench/peers servers: /echo, /sub, /pub).
`
)

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
		fmt.Fprintf(w, "fanout    %s: %d subscribers, %d B, %d publications/s\n", r.Server, r.Subscribers, r.Payload, r.Rate)
		fmt.Fprintf(w, "  offered   %.0f deliveries/s (%d publications/s x %d subscribers)\n", r.OfferedPerSecond, r.Rate, r.Subscribers)
		fmt.Fprintf(w, "  delivered %.0f deliveries/s over %.1f s: %d of the %d offered (%.1f%%)\n", r.PerSecond, r.Seconds, r.Delivered, r.Offered, 100*r.DeliveredShare)
		fmt.Fprintf(w, "  latency %s, errors %d\n", r.Latency, r.Errors)
		if r.ServerCPU > 0 {
			fmt.Fprintf(w, "  server CPU %.2f s: %.0f deliveries per CPU-second\n", r.ServerCPU, r.PerCPUSecond)
		}
	case bench.IdleResult:
		fmt.Fprintf(w, "idle      %s: %d connections", r.Server, r.Connections)
		switch {
		case r.Subscribe:
			fmt.Fprint(w, ", logged in and subscribed")
		case r.Login:
			fmt.Fprint(w, ", logged in")
		}
		fmt.Fprintln(w)
		if r.RSSMeasured {
			fmt.Fprintf(w, "  RSS     %s (%.1f -> %.1f MB)\n", r.RSSText(), float64(r.Before.RSSBytes)/(1<<20), float64(r.After.RSSBytes)/(1<<20))
		} else {
			fmt.Fprintf(w, "  RSS     %s\n", r.RSSText())
		}
		if r.HeapMeasured {
			fmt.Fprintf(w, "  Go heap %s (%.1f -> %.1f MB)\n", r.HeapText(), float64(r.Before.HeapBytes)/(1<<20), float64(r.After.HeapBytes)/(1<<20))
		} else {
			fmt.Fprintf(w, "  Go heap %s\n", r.HeapText())
		}
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

const benchSuiteIntro = `Usage: switchboard bench suite [flags]

Starts each server as a child process for each load (echo, fanout, idle;
longpoll on Switchboard only), one after another, and writes BENCHMARKS.md
with the results, their ratios to gws, an SVG chart per load and bench.json.
`

func runBenchSuite(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench suite")
	sb := fs.String("switchboard", "./switchboard", "the switchboard `binary` to benchmark")
	gws := fs.String("gws", "bench/peers/bin/gws", "the gws comparison server `binary` (bench/peers/gws); empty skips it")
	gorilla := fs.String("gorilla", "bench/peers/bin/gorilla", "the gorilla/websocket comparison server `binary` (bench/peers/gorilla); empty skips it")
	batch := fs.Duration("batch-delay", 5*time.Millisecond, "also run fanout on Switchboard with serve --batch-delay set to this `delay`; 0 skips that variant")
	full := fs.Bool("full", false, "the larger sizes of make bench-full (about four minutes)")
	out := fs.String("out", ".", "`directory` for BENCHMARKS.md")
	charts := fs.String("charts", "bench/results", "`directory` for the charts and bench.json, relative to --out")
	quiet := fs.Bool("quiet", false, "no progress bars")
	if err := parseFlags(fs, args, benchSuiteIntro, stdout, stderr); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("bench suite takes no arguments, got %q", strings.Join(fs.Args(), " "))
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
