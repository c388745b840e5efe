package browser

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// DebianChromium is where Debian's chromium package puts the browser. It is
// Debian's launcher script, which adds the defaults of /etc/chromium.d (such
// as --disable-pings) to the switches it is given.
const DebianChromium = "/usr/bin/chromium"

// flags are the command-line switches every browser gets, besides a fresh
// --user-data-dir. They keep Chromium quiet and off the network: without the
// background-networking ones it keeps dialing Google's hosts, which a closed
// CI network refuses. chromedp adds only --remote-debugging-pipe and the
// first page, about:blank.
var flags = []string{
	"headless",
	"no-sandbox", // tests run as root, and Chromium refuses its sandbox as root
	"disable-gpu",
	"disable-quic",
	"no-first-run",
	"disable-background-networking",
	"disable-component-update",
	"disable-sync",
}

// Timeouts of the browser's life cycle.
const (
	startTimeout      = 60 * time.Second
	stopTimeout       = 20 * time.Second
	screenshotTimeout = 30 * time.Second
)

// An Option changes how [New] starts the browser.
type Option func(*config)

type config struct {
	flags []string
}

// WithFakeMedia gives the browser a fake camera and microphone, and grants
// getUserMedia without a prompt: for WebRTC tests.
func WithFakeMedia() Option {
	return func(c *config) {
		c.flags = append(c.flags, "use-fake-device-for-media-stream", "use-fake-ui-for-media-stream")
	}
}

// WithFlags adds command-line switches, each "name" or "name=value"
// without the leading "--", such as "allow-loopback-in-peer-connection".
func WithFlags(flags ...string) Option {
	return func(c *config) { c.flags = append(c.flags, flags...) }
}

// New starts a headless Chromium, opens its first tab and returns the
// chromedp context of that tab. The browser gets a fresh profile in
// t.TempDir() and exactly these switches, plus those of the options:
//
//	--headless --no-sandbox --disable-gpu --disable-quic --no-first-run
//	--disable-background-networking --disable-component-update --disable-sync
//
// Run actions with chromedp.Run and chromedp.Do on the returned context. To
// bound one action, derive a context with a timeout from it; never give New's
// context a parent with a timeout, which would stop the whole browser.
//
// The browser stops in t.Cleanup, within a bounded time, and if the test
// failed the cleanup logs what the browser printed. New fails t when Chromium
// is missing or does not start.
func New(t testing.TB, opts ...Option) context.Context {
	t.Helper()
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	execPath, err := findChromium()
	if err != nil {
		t.Fatalf("browser: %v: run `make deps` (it installs Debian's chromium)", err)
	}
	profile := t.TempDir()

	allocOpts := []chromedp.ExecAllocatorOption{chromedp.ExecPath(execPath), chromedp.UserDataDir(profile)}
	for _, f := range append(flags[:len(flags):len(flags)], cfg.flags...) {
		if name, value, ok := strings.Cut(f, "="); ok {
			allocOpts = append(allocOpts, chromedp.Flag(name, value))
			continue
		}
		allocOpts = append(allocOpts, chromedp.Flag(f, true))
	}
	output := &tailBuffer{max: 64 << 10}
	allocOpts = append(allocOpts, chromedp.CombinedOutput(output))

	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), allocOpts...)
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	stop := func() {
		// A graceful close first, bounded; then cancel everything, which
		// kills the process if it is still there, and wait for it to exit.
		closeCtx, cancel := context.WithTimeout(ctx, stopTimeout/2)
		_ = chromedp.Cancel(closeCtx)
		cancel()
		cancelTab()
		cancelAlloc()
	}
	t.Cleanup(func() {
		stopped := make(chan struct{})
		go func() {
			defer close(stopped)
			stop()
		}()
		select {
		case <-stopped:
		case <-time.After(stopTimeout):
			t.Errorf("browser: chromium did not stop within %v", stopTimeout)
			return
		}
		if err := removeAllRetry(profile, 5*time.Second); err != nil {
			t.Errorf("browser: remove profile: %v", err)
		}
		if t.Failed() {
			t.Logf("browser: chromium output (last %d KiB, D-Bus noise left out):\n%s", output.max>>10, output.quiet())
		}
	})

	// The first run on the context starts the browser. It must not have a
	// timeout of its own, so bound it from the outside.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }()
	select {
	case err = <-started:
	case <-time.After(startTimeout):
		err = fmt.Errorf("no tab within %v", startTimeout)
	}
	if err != nil {
		t.Fatalf("browser: start %s: %v\nchromium output:\n%s", execPath, err, output.quiet())
	}
	return ctx
}

// Screenshot saves a full-page PNG of the tab of ctx as
// <artifacts>/<test name>-<name>.png, logs the path and returns it.
// <artifacts> is $SWITCHBOARD_ARTIFACTS, or testdata/artifacts in the test's
// package directory.
func Screenshot(t testing.TB, ctx context.Context, name string) string {
	t.Helper()
	dir, err := ArtifactsDir()
	if err != nil {
		t.Fatalf("browser: screenshot %s: %v", name, err)
	}
	shotCtx, cancel := context.WithTimeout(ctx, screenshotTimeout)
	defer cancel()
	png, err := chromedp.Run(shotCtx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("browser: screenshot %s: %v", name, err)
	}
	path := filepath.Join(dir, safeName(t.Name())+"-"+safeName(name)+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatalf("browser: screenshot %s: %v", name, err)
	}
	t.Logf("browser: screenshot %s", path)
	return path
}

// ArtifactsDir returns the absolute path of the directory that receives test
// artifacts, and creates it: $SWITCHBOARD_ARTIFACTS if set, or else
// testdata/artifacts under the working directory (the test's package
// directory under go test).
func ArtifactsDir() (string, error) {
	dir := os.Getenv("SWITCHBOARD_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("testdata", "artifacts")
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	return dir, os.MkdirAll(dir, 0o755)
}

// findChromium returns the path of Debian's chromium, or of a chromium in
// PATH.
func findChromium() (string, error) {
	if path, err := exec.LookPath("chromium"); err == nil {
		return path, nil
	}
	if _, err := os.Stat(DebianChromium); err != nil {
		return "", errors.New("chromium is not installed (not in PATH, no " + DebianChromium + ")")
	}
	return DebianChromium, nil
}

// removeAllRetry removes dir, trying again while a process that is still
// ending writes into it, until the timeout.
func removeAllRetry(dir string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		err := os.RemoveAll(dir)
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// safeName turns a test or artifact name into a file name.
func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '.':
			return r
		}
		return '_'
	}, s)
}

// tailBuffer keeps the last max bytes written to it. The browser's output
// goroutine writes while a test may read.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (w *tailBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.b = append(w.b, p...)
	if over := len(w.b) - w.max; over > 0 {
		w.b = append(w.b[:0], w.b[over:]...)
	}
	return len(p), nil
}

func (w *tailBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return string(w.b)
}

// quiet returns the output without the lines about D-Bus, which Chromium
// prints by the dozen where no session bus runs (CI, containers).
func (w *tailBuffer) quiet() string {
	var keep []string
	for line := range strings.Lines(w.String()) {
		if !strings.Contains(line, ":ERROR:dbus/") {
			keep = append(keep, line)
		}
	}
	return strings.Join(keep, "")
}

// netnsEnv is set in the environment of a test re-run by InLoopbackNetns.
const netnsEnv = "SWITCHBOARD_TEST_LOOPBACK_NETNS"

// InLoopbackNetns reports whether the test runs in a network namespace of
// its own whose only interface is loopback. If not, it re-runs the test
// there, in this test binary, under `unshare --net` with only lo up,
// reports the outcome and returns false; the caller then returns.
// Everything the test starts (servers, Chromium, Pion) lives in that
// namespace and can reach nothing but 127.0.0.1 and ::1. WebRTC tests need
// it: Chromium binds WebRTC sockets to every interface it finds and would
// otherwise pair the machine's other addresses with the loopback ones.
func InLoopbackNetns(t *testing.T) bool {
	t.Helper()
	if os.Getenv(netnsEnv) != "" {
		return true
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "unshare", "--net", "--", "sh", "-c", `ip link set lo up && exec "$@"`, "sh",
		os.Args[0], "-test.run=^"+t.Name()+"$", "-test.v", "-test.count=1", "-test.timeout=220s")
	cmd.Env = append(os.Environ(), netnsEnv+"=1")
	out, err := cmd.CombinedOutput()
	t.Logf("in a loopback-only network namespace:\n%s", out)
	if err != nil || !strings.Contains(string(out), "--- PASS: "+t.Name()) {
		t.Fatalf("the test failed in its network namespace (%v); running it needs root (unshare --net) and iproute2", err)
	}
	return false
}
