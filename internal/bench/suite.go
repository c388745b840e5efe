package bench

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"time"
)

// Server is a server binary the suite starts for each scenario.
type Server struct {
	Name     string
	Protocol Protocol
	// Command starts the server listening on the address it is given.
	Command func(addr string) *exec.Cmd
	// FanoutOnly runs the server in the fanout scenario only (a variant
	// of another server's settings).
	FanoutOnly bool
}

// SwitchboardServer runs bin (the switchboard binary) with the limits the
// loads need raised: more connections, no login deadline, no statistics
// stream, warnings only.
// Extra flags are added to those, and name names the variant.
func SwitchboardServer(name, bin string, extra ...string) Server {
	return Server{Name: name, Protocol: ProtocolSwitchboard, Command: func(addr string) *exec.Cmd {
		args := []string{"serve", "--addr", addr, "--max-connections", "0",
			"--login-timeout", "10m", "--stream-interval", "0", "--resume-grace", "0", "--log-level", "error", "--debug-vars"}
		return exec.Command(bin, append(args, extra...)...)
	}}
}

// PeerServer runs a comparison server from bench/peers.
func PeerServer(name, bin string) Server {
	return Server{Name: name, Protocol: ProtocolSimple, Command: func(addr string) *exec.Cmd {
		return exec.Command(bin, "-addr", addr)
	}}
}

// SuiteConfig sizes a suite run.
type SuiteConfig struct {
	Full     bool
	Echo     EchoConfig
	Fanout   FanoutConfig
	Idle     IdleConfig
	LongPoll LongPollConfig
	Progress io.Writer
	Log      io.Writer // one line per result; nil for none
	// BatchDelay names the batch-delay variant's setting in the report.
	BatchDelay time.Duration
	// EchoRounds is how many times echo runs on each server, the servers
	// taking turns; the report shows each server's median round. Default 1.
	EchoRounds int
}

// QuickSuite and FullSuite are the sizes of `make bench` and `make
// bench-full`.
func QuickSuite() SuiteConfig {
	return SuiteConfig{
		Echo:       EchoConfig{Connections: 1000, Payload: 512, Concurrency: 1, Duration: 3 * time.Second, Warmup: time.Second},
		EchoRounds: 5,
		Fanout:     FanoutConfig{Subscribers: 10000, Payload: 100, Rate: 200, Duration: 5 * time.Second, Warmup: time.Second},
		Idle:       IdleConfig{Connections: 15000, Login: true, Settle: 2 * time.Second},
		LongPoll:   LongPollConfig{Pairs: 50, Payload: 256, Duration: 5 * time.Second},
	}
}

func FullSuite() SuiteConfig {
	return SuiteConfig{
		Full:       true,
		Echo:       EchoConfig{Connections: 1000, Payload: 512, Concurrency: 1, Duration: 10 * time.Second, Warmup: 2 * time.Second},
		EchoRounds: 3,
		Fanout:     FanoutConfig{Subscribers: 10000, Payload: 100, Rate: 200, Duration: 15 * time.Second, Warmup: 2 * time.Second},
		Idle:       IdleConfig{Connections: 19000, Login: true, Subscribe: true, Settle: 5 * time.Second},
		LongPoll:   LongPollConfig{Pairs: 100, Payload: 256, Duration: 20 * time.Second},
	}
}

// SuiteResult is everything one run measured.
type SuiteResult struct {
	Started   time.Time `json:"started"`
	Full      bool      `json:"full"`
	Machine   Machine   `json:"machine"`
	FileLimit uint64    `json:"open_files_limit"`
	// BatchDelay is the serve --batch-delay of the switchboard+batch
	// variant, if it ran.
	BatchDelay string           `json:"batch_delay,omitempty"`
	Servers    []string         `json:"servers"`
	Echo       []EchoResult     `json:"echo"` // each server's median round
	EchoRounds [][]EchoResult   `json:"echo_rounds"`
	Fanout     []FanoutResult   `json:"fanout"`
	Idle       []IdleResult     `json:"idle"`
	LongPoll   []LongPollResult `json:"longpoll"`
	Failures   []string         `json:"failures,omitempty"`
}

// RunSuite runs every scenario against every server, one server at a
// time, each in a fresh process. A scenario that fails for one server is
// recorded in Failures and the run goes on.
func RunSuite(ctx context.Context, servers []Server, cfg SuiteConfig) (*SuiteResult, error) {
	limit, err := RaiseFileLimit()
	if err != nil {
		return nil, err
	}
	for _, n := range []int{cfg.Echo.Connections, cfg.Fanout.Subscribers, cfg.Idle.Connections} {
		if err := CheckConnections(n, limit); err != nil {
			return nil, err
		}
	}
	for _, c := range []*EchoConfig{&cfg.Echo} {
		c.Progress = cfg.Progress
	}
	cfg.Fanout.Progress, cfg.Idle.Progress, cfg.LongPoll.Progress = cfg.Progress, cfg.Progress, cfg.Progress
	res := &SuiteResult{Started: time.Now().UTC(), Full: cfg.Full, Machine: machine(), FileLimit: limit}
	if cfg.BatchDelay > 0 {
		res.BatchDelay = cfg.BatchDelay.String()
	}
	for _, s := range servers {
		res.Servers = append(res.Servers, s.Name)
	}
	logf := func(format string, args ...any) {
		if cfg.Log != nil {
			fmt.Fprintf(cfg.Log, format+"\n", args...)
		}
	}
	run := func(scenario string, s Server, f func(Target) error) {
		if ctx.Err() != nil {
			return
		}
		t, stop, err := startServer(ctx, s)
		if err == nil {
			err = f(t)
			stop()
		}
		if err != nil {
			msg := fmt.Sprintf("%s on %s: %v", scenario, s.Name, err)
			res.Failures = append(res.Failures, msg)
			logf("FAILED %s", msg)
		}
	}
	rounds := max(cfg.EchoRounds, 1)
	for round := range rounds {
		var got []EchoResult
		for _, s := range servers {
			if s.FanoutOnly {
				continue
			}
			run("echo", s, func(t Target) error {
				r, err := Echo(ctx, t, cfg.Echo)
				if err == nil {
					got = append(got, r)
					logf("echo     %-17s %8.0f msg/s  %8.0f per server CPU-s   %s   (round %d of %d)", s.Name, r.PerSecond, r.PerCPUSecond, r.Latency, round+1, rounds)
				}
				return err
			})
		}
		res.EchoRounds = append(res.EchoRounds, got)
	}
	res.Echo = medianRounds(res.EchoRounds)
	for _, s := range servers {
		run("fanout", s, func(t Target) error {
			r, err := Fanout(ctx, t, cfg.Fanout)
			if err == nil {
				res.Fanout = append(res.Fanout, r)
				logf("fanout   %-17s %8.0f deliveries/s of %.0f offered (%.0f%%)  %8.0f per server CPU-s   %s", s.Name, r.PerSecond, r.OfferedPerSecond, 100*r.DeliveredShare, r.PerCPUSecond, r.Latency)
			}
			return err
		})
	}
	for _, s := range servers {
		if s.FanoutOnly {
			continue
		}
		run("idle", s, func(t Target) error {
			r, err := Idle(ctx, t, cfg.Idle)
			if err == nil {
				res.Idle = append(res.Idle, r)
				logf("idle     %s", r)
			}
			return err
		})
		if s.Protocol == ProtocolSwitchboard && (cfg.Idle.Login || cfg.Idle.Subscribe) {
			// The same connections as the peers': plain, on /echo.
			run("idle", s, func(t Target) error {
				plain := cfg.Idle
				plain.Login, plain.Subscribe = false, false
				t.Name += " (plain)"
				r, err := Idle(ctx, t, plain)
				if err == nil {
					res.Idle = append(res.Idle, r)
					logf("idle     %s", r)
				}
				return err
			})
		}
	}
	for _, s := range servers {
		if s.Protocol != ProtocolSwitchboard || s.FanoutOnly {
			continue // only Switchboard speaks peerconnection
		}
		run("longpoll", s, func(t Target) error {
			r, err := LongPoll(ctx, t, cfg.LongPoll)
			if err == nil {
				res.LongPoll = append(res.LongPoll, r)
				logf("longpoll %-12s %10.0f msg/s   %s", s.Name, r.PerSecond, r.Latency)
			}
			return err
		})
	}
	return res, ctx.Err()
}

// medianRounds returns, for each server in the order of the first round,
// its median round by messages per second (the lower middle one of an
// even count).
func medianRounds(rounds [][]EchoResult) []EchoResult {
	names, by := byServer(rounds)
	var out []EchoResult
	for _, n := range names {
		rs := slices.Clone(by[n])
		slices.SortFunc(rs, func(a, b EchoResult) int { return cmp.Compare(a.PerSecond, b.PerSecond) })
		out = append(out, rs[(len(rs)-1)/2])
	}
	return out
}

// byServer groups the rounds' results by server, naming the servers in the
// order they first appear.
func byServer(rounds [][]EchoResult) ([]string, map[string][]EchoResult) {
	var names []string
	by := map[string][]EchoResult{}
	for _, round := range rounds {
		for _, r := range round {
			if _, ok := by[r.Server]; !ok {
				names = append(names, r.Server)
			}
			by[r.Server] = append(by[r.Server], r)
		}
	}
	return names, by
}

// startServer starts s on a free loopback port and waits until it
// answers; stop ends it.
func startServer(ctx context.Context, s Server) (Target, func(), error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return Target{}, nil, err
	}
	addr := l.Addr().String()
	l.Close()
	cmd := s.Command(addr)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return Target{}, nil, fmt.Errorf("starting %s: %w", s.Name, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}
	t := Target{Name: s.Name, Addr: addr, Protocol: s.Protocol, PID: cmd.Process.Pid}
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/debug/vars")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return t, stop, nil
			}
		}
		select {
		case err := <-exited:
			exited <- err
			return Target{}, nil, fmt.Errorf("%s exited: %v", s.Name, err)
		case <-ctx.Done():
			stop()
			return Target{}, nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			stop()
			return Target{}, nil, errors.New(s.Name + " did not answer /debug/vars within 15s")
		}
	}
}

// Machine describes where the run happened.
type Machine struct {
	CPUs   int    `json:"cpus"`
	Kernel string `json:"kernel"`
	Go     string `json:"go"`
	MemGiB int    `json:"mem_gib"`
}

func machine() Machine {
	m := Machine{CPUs: numCPU(), Go: goVersion()}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = string(trimSpace(b))
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int
		_, _ = fmt.Sscanf(string(b), "MemTotal: %d kB", &kb)
		m.MemGiB = kb >> 20
	}
	return m
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == ' ') {
		b = b[:len(b)-1]
	}
	return b
}
