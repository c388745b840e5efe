package nodetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Timeout bounds one script run. The scripts have their own, shorter
// timeouts; this one only catches a script that hangs anyway.
const Timeout = 2 * time.Minute

// Dir returns the absolute path of test/node in the module that holds the
// working directory. It fails t when there is none.
func Dir(t testing.TB) string {
	t.Helper()
	root, err := moduleRoot()
	if err != nil {
		t.Fatalf("nodetest: %v", err)
	}
	return filepath.Join(root, "test", "node")
}

// Run runs `node script args...` in test/node and returns its stdout. script
// is relative to test/node. It fails t, with the script's stdout and stderr,
// when node or node_modules is missing, when the script exits with a status
// other than 0, or when it runs longer than [Timeout] (or past the test's
// deadline). Like t.Fatal, call it from the test's own goroutine.
func Run(t testing.TB, script string, args ...string) []byte {
	t.Helper()
	dir := Dir(t)
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("nodetest: node is not installed (%v): run `make deps`", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules")); err != nil {
		t.Fatalf("nodetest: %s/node_modules is missing: run `make deps`", dir)
	}
	if _, err := os.Stat(filepath.Join(dir, script)); err != nil {
		t.Fatalf("nodetest: no script %s in %s", script, dir)
	}

	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	if d, ok := t.(interface{ Deadline() (time.Time, bool) }); ok {
		if deadline, ok := d.Deadline(); ok {
			// End the script before `go test -timeout` kills the whole binary,
			// so that its output gets reported.
			ctx, cancel = context.WithDeadline(ctx, deadline.Add(-5*time.Second))
			defer cancel()
		}
	}
	cmd := exec.CommandContext(ctx, node, append([]string{script}, args...)...)
	cmd.Dir = dir
	cmd.WaitDelay = 5 * time.Second // don't wait forever on pipes a grandchild holds
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr

	start := time.Now()
	err = cmd.Run()
	if ctx.Err() != nil {
		err = errors.Join(err, ctx.Err())
	}
	if err != nil {
		t.Fatalf("nodetest: node %s %s: %v after %v\nstdout:\n%s\nstderr:\n%s",
			script, strings.Join(args, " "), err, time.Since(start).Round(time.Millisecond),
			indent(stdout.String()), indent(stderr.String()))
	}
	if stderr.Len() > 0 {
		t.Logf("nodetest: node %s stderr:\n%s", script, indent(stderr.String()))
	}
	return stdout.Bytes()
}

// RunJSON is [Run] followed by decoding the script's stdout, one JSON value,
// into v. It fails t when stdout is not that.
func RunJSON(t testing.TB, v any, script string, args ...string) {
	t.Helper()
	out := Run(t, script, args...)
	if err := json.Unmarshal(out, v); err != nil {
		t.Fatalf("nodetest: node %s: decode stdout: %v\nstdout:\n%s", script, err, indent(string(out)))
	}
}

// moduleRoot walks up from the working directory to the directory that holds
// go.mod.
func moduleRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		if filepath.Dir(dir) == dir {
			return "", errors.New("no go.mod in " + wd + " or any parent")
		}
	}
}

func indent(s string) string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return "\t(empty)"
	}
	return "\t" + strings.ReplaceAll(s, "\n", "\n\t")
}
