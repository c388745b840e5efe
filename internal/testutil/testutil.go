package testutil

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"sync"
	"testing"
	"time"
)

// PollInterval is how often [Poll] calls its condition.
const PollInterval = 5 * time.Millisecond

// ShutdownTimeout bounds the Shutdown call and the wait for Serve to return
// in the cleanup of [Serve]. It is generous: it only catches hangs on a
// shared 2-core machine running the race detector.
const ShutdownTimeout = 15 * time.Second

// SyncBuffer is a bytes.Buffer safe for writers (a logger, a command's
// output) running while the test reads it. Its zero value is empty.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p to the buffer.
func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns what was written so far.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Poll calls cond every [PollInterval] until it holds or d passes, and
// reports whether it held.
func Poll(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	tick := time.NewTicker(PollInterval)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		<-tick.C
	}
	return true
}

// WaitFor polls cond until it holds, or fails t after d; what names the
// condition in the failure.
func WaitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	if !Poll(d, cond) {
		t.Fatalf("timed out after %v waiting for %s", d, what)
	}
}

// WaitGoroutines polls until at most base goroutines run. After d it
// returns an error with the stacks of all goroutines.
func WaitGoroutines(base int, d time.Duration) error {
	if Poll(d, func() bool { return runtime.NumGoroutine() <= base }) {
		return nil
	}
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	return fmt.Errorf("goroutine leak: %d running after %v, %d at start\n%s", runtime.NumGoroutine(), d, base, buf)
}

// CheckGoroutines records how many goroutines run now and registers a
// cleanup that fails t if more still run d after the test's other cleanups.
// Call it first in the test: cleanups run last-in first-out, so its own
// runs after the servers' shutdowns.
func CheckGoroutines(t testing.TB, d time.Duration) {
	t.Helper()
	base := runtime.NumGoroutine()
	t.Cleanup(func() {
		if err := WaitGoroutines(base, d); err != nil {
			t.Error(err)
		}
	})
}

// Server is what [Serve] runs: frontdoor.Server, server.Server and
// http.Server all fit.
type Server interface {
	// Serve accepts on ln until Shutdown, then returns
	// http.ErrServerClosed.
	Serve(ln net.Listener) error
	// Shutdown stops the server and waits for its connections, or ctx.
	Shutdown(ctx context.Context) error
}

// Serving is a server that [Serve] runs.
type Serving struct {
	Addr string // host:port of its 127.0.0.1 listener

	done chan struct{} // closed when Serve returned
	err  error         // Serve's result, once done is closed
}

// Serve runs s on a new 127.0.0.1 listener until the test ends. Its
// cleanup calls Shutdown (again, if the test did) and fails t unless
// Shutdown returns nil within [ShutdownTimeout] and Serve then returns
// http.ErrServerClosed (which frontdoor.ErrServerClosed is).
func Serve(t testing.TB, s Server) *Serving {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sv := &Serving{Addr: ln.Addr().String(), done: make(chan struct{})}
	go func() {
		defer close(sv.done)
		sv.err = s.Serve(ln)
	}()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		sv.WaitServed(t)
	})
	return sv
}

// WaitServed waits up to [ShutdownTimeout] for Serve to return and fails t
// unless it returned http.ErrServerClosed. Call it after Shutdown.
func (sv *Serving) WaitServed(t testing.TB) {
	t.Helper()
	select {
	case <-sv.done:
		if !errors.Is(sv.err, http.ErrServerClosed) {
			t.Errorf("Serve returned %v, want ErrServerClosed", sv.err)
		}
	case <-time.After(ShutdownTimeout):
		t.Errorf("Serve did not return within %v of Shutdown", ShutdownTimeout)
	}
}
