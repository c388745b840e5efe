package nodetest_test

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/internal/testutil/nodetest"
)

func TestRunJSON(t *testing.T) {
	var got struct {
		OK   bool     `json:"ok"`
		Args []string `json:"args"`
		Node string   `json:"node"`
		WS   string   `json:"ws"`
	}
	args := []string{"one", "two words", "--flag=ü"}
	nodetest.RunJSON(t, &got, "selftest.mjs", args...)
	if !got.OK || !slices.Equal(got.Args, args) {
		t.Fatalf("selftest.mjs = %+v, want ok with args %q", got, args)
	}
	if got.WS != "8.23.0" {
		t.Errorf("ws version = %q, want the pinned 8.23.0 (run `make deps`)", got.WS)
	}
	t.Logf("node %s, ws %s", got.Node, got.WS)
}

func TestRunReturnsStdout(t *testing.T) {
	out := nodetest.Run(t, "selftest.mjs")
	if !strings.HasPrefix(string(out), `{"ok":true`) || !strings.HasSuffix(string(out), "\n") {
		t.Fatalf("stdout = %q, want one JSON line", out)
	}
}

func TestDir(t *testing.T) {
	dir := nodetest.Dir(t)
	if _, err := os.Stat(filepath.Join(dir, "package.json")); err != nil {
		t.Fatalf("Dir = %s: %v", dir, err)
	}
}

// fatalRecorder is a testing.TB whose Fatalf records the message and ends the
// goroutine, as the real one does.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (r *fatalRecorder) Helper() {}

func (r *fatalRecorder) Fatalf(format string, args ...any) {
	r.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// fatalOf runs f with a recorder in its own goroutine and returns the message
// it failed with ("" if it did not).
func fatalOf(t *testing.T, f func(tb testing.TB)) string {
	r := &fatalRecorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
	return r.msg
}

func TestRunFailures(t *testing.T) {
	tests := []struct {
		name string
		f    func(tb testing.TB)
		want []string
	}{
		{
			name: "exit status",
			f:    func(tb testing.TB) { nodetest.Run(tb, "selftest.mjs", "--fail") },
			want: []string{"exit status 3", "selftest: failing on purpose"},
		},
		{
			name: "missing script",
			f:    func(tb testing.TB) { nodetest.Run(tb, "no-such-script.mjs") },
			want: []string{"no script no-such-script.mjs"},
		},
		{
			name: "not JSON",
			f: func(tb testing.TB) {
				var v struct{}
				nodetest.RunJSON(tb, &v, "selftest.mjs", "--not-json")
			},
			want: []string{"decode stdout", "plain text"},
		},
		{
			name: "script reports failure",
			f: func(tb testing.TB) {
				var v struct{}
				nodetest.RunJSON(tb, &v, "ws-echo.mjs", "--url", "ws://127.0.0.1:1/echo", "--timeout", "5000")
			},
			want: []string{"exit status 1", `"ok":false`, "ECONNREFUSED"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := fatalOf(t, tt.f)
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("failure message %q does not contain %q", msg, w)
				}
			}
		})
	}
}

func TestRunWithoutNode(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	msg := fatalOf(t, func(tb testing.TB) { nodetest.Run(tb, "selftest.mjs") })
	if !strings.Contains(msg, "node is not installed") || !strings.Contains(msg, "make deps") {
		t.Fatalf("failure message %q, want it to say node is missing and to run make deps", msg)
	}
}
