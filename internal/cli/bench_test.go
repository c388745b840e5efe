package cli

import (
	"regexp"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/internal/bench"
	"github.com/switchboard/switchboard/internal/server"
	"github.com/switchboard/switchboard/internal/testutil/servertest"
)

// TestBenchHelp checks that every load prints the styled usage on stdout
// and that the loads that run for a time share --duration and --warmup.
func TestBenchHelp(t *testing.T) {
	for _, load := range []string{"echo", "fanout", "idle", "longpoll", "suite"} {
		t.Run(load, func(t *testing.T) {
			code, stdout, stderr := runCmd(t, "bench", load, "--help")
			if code != 0 || stderr != "" || !strings.HasPrefix(stdout, "Usage: switchboard bench "+load+" [flags]\n") {
				t.Fatalf("bench %s --help: exit %d, stdout %q, stderr %q; want the usage on stdout", load, code, stdout, stderr)
			}
			timed := load == "echo" || load == "fanout" || load == "longpoll"
			for _, f := range []string{"\n  --duration duration\n", "\n  --warmup duration\n"} {
				if strings.Contains(stdout, f) != timed {
					t.Errorf("bench %s --help: has %q = %v, want %v", load, f, !timed, timed)
				}
			}
			if regexp.MustCompile(`(?m)^  --\S+ long$`).MatchString(stdout) {
				t.Errorf("bench %s --help has a placeholder 'long': %q", load, stdout)
			}
		})
	}
}

// TestBenchIdleNotMeasured runs bench idle against a server without
// --debug-vars and without --pid: it prints "not measured" and what to
// pass, never a zero, and exits 1.
func TestBenchIdleNotMeasured(t *testing.T) {
	ts := servertest.Start(t, server.Config{})
	code, stdout, stderr := runCmd(t, "bench", "idle", "--addr", ts.Addr, "--connections", "3", "--settle", "1ms", "--quiet")
	if code != 1 {
		t.Fatalf("exit %d, want 1; stdout %q, stderr %q", code, stdout, stderr)
	}
	for _, want := range []string{
		"  RSS     " + bench.RSSNotMeasured + "\n",
		"  Go heap " + bench.HeapNotMeasured + "\n",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout %q does not have %q", stdout, want)
		}
	}
	if strings.Contains(stdout, "0.0") {
		t.Errorf("stdout %q prints a zero that was not measured", stdout)
	}
	if want := "Error: " + bench.ErrNotMeasured.Error() + "\n"; stderr != want {
		t.Errorf("stderr %q, want %q", stderr, want)
	}

	// With --debug-vars the heap is measured; RSS still needs --pid.
	ts = servertest.Start(t, server.Config{DebugVars: true})
	code, stdout, stderr = runCmd(t, "bench", "idle", "--addr", ts.Addr, "--connections", "3", "--settle", "1ms", "--quiet")
	if code != 0 || !strings.Contains(stdout, "  RSS     "+bench.RSSNotMeasured+"\n") || !regexp.MustCompile(`(?m)^  Go heap -?\d+\.\d KB/conn \(`).MatchString(stdout) {
		t.Fatalf("with --debug-vars: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

// TestFanoutTable checks that fanout's figures say what they mean: the
// deliveries offered (publications x subscribers) and those delivered.
func TestFanoutTable(t *testing.T) {
	var b strings.Builder
	printTable(&b, bench.FanoutResult{
		Server: "switchboard", Subscribers: 50, Payload: 100, Rate: 20, Seconds: 2,
		Published: 40, Offered: 2000, OfferedPerSecond: 1000, Delivered: 2000, PerSecond: 1000, DeliveredShare: 1,
	})
	want := "fanout    switchboard: 50 subscribers, 100 B, 20 publications/s\n" +
		"  offered   1000 deliveries/s (20 publications/s x 50 subscribers)\n" +
		"  delivered 1000 deliveries/s over 2.0 s: 2000 of the 2000 offered (100.0%)\n"
	if !strings.HasPrefix(b.String(), want) {
		t.Fatalf("fanout table:\n%s\nwant it to start with\n%s", b.String(), want)
	}
}
