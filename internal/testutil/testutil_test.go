package testutil_test

import (
	"fmt"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/testutil"
)

func TestSyncBufferConcurrentWrites(t *testing.T) {
	var b testutil.SyncBuffer
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() { fmt.Fprintf(&b, "%d\n", i) })
	}
	wg.Wait()
	if n := strings.Count(b.String(), "\n"); n != 4 {
		t.Errorf("%d lines in %q, want 4", n, b.String())
	}
}

func TestPoll(t *testing.T) {
	n := 0
	if !testutil.Poll(time.Second, func() bool { n++; return n == 3 }) {
		t.Errorf("Poll gave up on a condition that held at the third call")
	}
	if testutil.Poll(20*time.Millisecond, func() bool { return false }) {
		t.Errorf("Poll reported a condition that never held")
	}
}

func TestWaitGoroutines(t *testing.T) {
	base := runtime.NumGoroutine()
	stop := make(chan struct{})
	go func() { <-stop }()
	// The test's own goroutine always runs: a base of 0 is a leak.
	err := testutil.WaitGoroutines(0, 20*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "goroutine leak") {
		t.Errorf("with base 0: %v, want a leak error", err)
	}
	close(stop)
	if err := testutil.WaitGoroutines(base, time.Second); err != nil {
		t.Errorf("after it ended: %v", err)
	}
}

func TestServe(t *testing.T) {
	testutil.CheckGoroutines(t, 5*time.Second)
	s := testutil.Serve(t, &http.Server{Handler: http.NotFoundHandler()})
	c, err := net.Dial("tcp", s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
}
