package frontdoor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/httphead"
	"github.com/switchboard/switchboard/internal/testutil"
)

// seen is what a test ConnHandler observed.
type seen struct {
	req      *httphead.Request
	buffered []byte
	rest     []byte // read from nc after buffered, when the test asked for it
}

// routeTo routes requests whose path is path to h, others to HTTP.
func routeTo(path string, h ConnHandler) func(*httphead.Request) ConnHandler {
	return func(req *httphead.Request) ConnHandler {
		if req.Path() == path {
			return h
		}
		return nil
	}
}

func TestHTTPRoute(t *testing.T) {
	testutil.CheckGoroutines(t, waitFor)
	s := &Server{
		Route: routeTo("/ws", ConnHandlerFunc(func(context.Context, net.Conn, *httphead.Request, []byte) {})),
		HTTP: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			fmt.Fprintf(w, "%s %s body=%q", r.Method, r.URL.RequestURI(), body)
		}),
	}
	addr := testutil.Serve(t, s).Addr
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: waitFor}

	resp, err := client.Get("http://" + addr + "/healthz?x=1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != `GET /healthz?x=1 body=""` {
		t.Errorf("GET: %d %q", resp.StatusCode, body)
	}
	if !resp.Close {
		t.Error("GET reply lacks Connection: close (keep-alive must be off)")
	}

	// A body larger than the first read buffer: part of it is replayed,
	// the rest comes from the socket.
	big := strings.Repeat("0123456789", 500)
	resp, err = client.Post("http://"+addr+"/api", "text/plain", strings.NewReader(big))
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := fmt.Sprintf("POST /api body=%q", big); string(body) != want {
		t.Errorf("POST: %d %.80q...", resp.StatusCode, body)
	}

	testutil.WaitFor(t, waitFor, "connections released", func() bool { return s.Stats().Active == 0 })
	st := s.Stats()
	if st.Accepted != 2 || st.HTTP != 2 || st.Routed != 0 {
		t.Errorf("stats = %+v", st)
	}
}

func TestConnHandlerGetsHeadAndBuffered(t *testing.T) {
	testutil.CheckGoroutines(t, waitFor)
	const head = "GET /ws?room=1 HTTP/1.1\r\nHost: example\r\nUpgrade: websocket\r\nX-Multi: a\r\nx-multi: b\r\n\r\n"
	tests := []struct {
		name  string
		extra string
	}{
		{"no extra bytes", ""},
		{"a frame after the head", "\x81\x85\x01\x02\x03\x04iguhn"},
		{"more than the first buffer", strings.Repeat("z", 3000)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := make(chan seen, 1)
			h := ConnHandlerFunc(func(ctx context.Context, nc net.Conn, req *httphead.Request, buffered []byte) {
				sn := seen{req: req, buffered: bytes.Clone(buffered)}
				if want := len(tt.extra) - len(buffered); want > 0 {
					sn.rest = make([]byte, want)
					_ = nc.SetReadDeadline(time.Now().Add(waitFor))
					_, _ = io.ReadFull(nc, sn.rest)
				}
				io.WriteString(nc, "done")
				got <- sn
			})
			s := &Server{Route: routeTo("/ws", h)}
			addr := testutil.Serve(t, s).Addr
			c := dial(t, addr)
			write(t, c, head+tt.extra) // one write
			if reply := readToEOF(t, c); reply != "done" {
				t.Errorf("client read %q", reply)
			}
			sn := recv(t, got, "handler")
			if sn.req.Method != "GET" || sn.req.Target != "/ws?room=1" || sn.req.Proto != "HTTP/1.1" {
				t.Errorf("req = %+v", sn.req)
			}
			if v := sn.req.Header.Values("X-Multi"); len(v) != 2 || v[0] != "a" || v[1] != "b" {
				t.Errorf("X-Multi = %q", v)
			}
			if len(tt.extra) <= initialHeadBuf-len(head) && string(sn.buffered) != tt.extra {
				t.Errorf("buffered = %q, want %q", sn.buffered, tt.extra)
			}
			if all := string(sn.buffered) + string(sn.rest); all != tt.extra {
				t.Errorf("buffered+rest = %d bytes, want %d", len(all), len(tt.extra))
			}
			testutil.WaitFor(t, waitFor, "connection released", func() bool { return s.Stats().Active == 0 })
			if st := s.Stats(); st.Routed != 1 || st.HTTP != 0 {
				t.Errorf("stats = %+v", st)
			}
		})
	}
}

func TestNativeClientRequestsReachConnHandler(t *testing.T) {
	testutil.CheckGoroutines(t, waitFor)
	tests := []struct {
		in                   string
		target, proto, query string
	}{
		{"GET /sign_in?John Doe@pc HTTP/1.0\r\n\r\n", "/sign_in?John", "HTTP/1.0", "John"},
		{"GET /sign_in?alice HTTP/1.0\r\n\r\n", "/sign_in?alice", "HTTP/1.0", "alice"},
		{"GET /sign_in?bob HTTP/1.1\r\n\r\n", "/sign_in?bob", "HTTP/1.1", "bob"},
		{"GET /sign_in?peer_id=1\r\n\r\n", "/sign_in?peer_id=1", "", "peer_id=1"},
	}
	got := make(chan seen, 1)
	h := ConnHandlerFunc(func(ctx context.Context, nc net.Conn, req *httphead.Request, buffered []byte) {
		io.WriteString(nc, "HTTP/1.1 200 Added\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
		got <- seen{req: req, buffered: buffered}
	})
	s := &Server{Route: routeTo("/sign_in", h)}
	addr := testutil.Serve(t, s).Addr
	for _, tt := range tests {
		c := dial(t, addr)
		write(t, c, tt.in)
		if reply := readToEOF(t, c); !strings.HasPrefix(reply, "HTTP/1.1 200 Added\r\n") {
			t.Errorf("%q: reply %q", tt.in, reply)
		}
		sn := recv(t, got, "handler")
		r := sn.req
		if r.Method != "GET" || r.Target != tt.target || r.Proto != tt.proto || r.Query() != tt.query ||
			len(r.Header) != 0 || len(sn.buffered) != 0 {
			t.Errorf("%q: got %+v buffered %q", tt.in, r, sn.buffered)
		}
	}
}

func TestBadRequestHeads(t *testing.T) {
	testutil.CheckGoroutines(t, waitFor)
	tests := []struct {
		name, in, reason string
		halfClose        bool
	}{
		{"binary garbage", "\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03", "control character in head", false},
		{"bare LF", "GET / HTTP/1.1\nHost: x\n\n", "bare LF line ending", false},
		{"header without colon", "GET / HTTP/1.1\r\nHost x\r\n\r\n", "header line without colon", false},
		{"empty method", " / HTTP/1.1\r\n\r\n", "empty method", false},
		{"truncated then EOF", "GET / HTTP/1.1\r\nHost: x\r\n", "incomplete request head", true},
	}
	s := &Server{HTTP: http.NotFoundHandler()}
	addr := testutil.Serve(t, s).Addr
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dial(t, addr)
			write(t, c, tt.in)
			if tt.halfClose {
				c.CloseWrite()
			}
			resp, body := readReply(t, c)
			if resp.StatusCode != 400 || body != tt.reason+"\n" {
				t.Errorf("reply %d %q, want 400 %q", resp.StatusCode, body, tt.reason)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			if got := s.Stats().Rejected.BadRequest; got != int64(i+1) {
				t.Errorf("BadRequest = %d, want %d", got, i+1)
			}
		})
	}
}

func TestHeadTooLarge(t *testing.T) {
	testutil.CheckGoroutines(t, waitFor)
	s := &Server{HTTP: http.NotFoundHandler()}
	addr := testutil.Serve(t, s).Addr
	c := dial(t, addr)
	// 20 KiB of header fields in one write, with no end in sight: the
	// server must answer 431 without the unread rest turning into a RST.
	head := "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("b", 20<<10) + "\r\n"
	write(t, c, head)
	resp, body := readReply(t, c)
	if resp.StatusCode != 431 || body != "request header fields too large\n" {
		t.Errorf("reply %d %q", resp.StatusCode, body)
	}
	if st := s.Stats(); st.Rejected.TooLarge != 1 {
		t.Errorf("stats = %+v", st)
	}
	testutil.WaitFor(t, waitFor, "connection released", func() bool { return s.Stats().Active == 0 })
}

func TestMaxHeadBytesConfig(t *testing.T) {
	testutil.CheckGoroutines(t, waitFor)
	got := make(chan *httphead.Request, 1)
	s := &Server{
		Config: Config{MaxHeadBytes: 64},
		Route: func(req *httphead.Request) ConnHandler {
			return ConnHandlerFunc(func(_ context.Context, _ net.Conn, req *httphead.Request, _ []byte) { got <- req })
		},
	}
	addr := testutil.Serve(t, s).Addr
	c := dial(t, addr)
	write(t, c, "GET /"+strings.Repeat("a", 46)+" HTTP/1.0\r\n\r\n") // 64 bytes: fits
	readToEOF(t, c)
	recv(t, got, "handler")
	c = dial(t, addr)
	write(t, c, "GET /"+strings.Repeat("a", 47)+" HTTP/1.0\r\n\r\n") // 65 bytes
	if resp, _ := readReply(t, c); resp.StatusCode != 431 {
		t.Errorf("status %d, want 431", resp.StatusCode)
	}
}

func TestHeadReadTimeout(t *testing.T) {
	testutil.CheckGoroutines(t, waitFor)
	const timeout = 150 * time.Millisecond
	s := &Server{Config: Config{HeadReadTimeout: timeout}}
	addr := testutil.Serve(t, s).Addr
	for _, sent := range []string{"", "GET /wait?peer_id=1 HTT"} {
		c := dial(t, addr)
		began := time.Now()
		write(t, c, sent)
		resp, body := readReply(t, c)
		if resp.StatusCode != 408 || body != "request head not received in time\n" {
			t.Errorf("sent %q: reply %d %q", sent, resp.StatusCode, body)
		}
		if el := time.Since(began); el < timeout-10*time.Millisecond {
			t.Errorf("closed after %v, before the %v timeout", el, timeout)
		}
	}
	if st := s.Stats(); st.Rejected.Timeout != 2 {
		t.Errorf("stats = %+v", st)
	}
}

func TestMaxConnections(t *testing.T) {
	testutil.CheckGoroutines(t, waitFor)
	entered := make(chan struct{}, 1)
	release := make(chan struct{})
	h := ConnHandlerFunc(func(ctx context.Context, nc net.Conn, req *httphead.Request, _ []byte) {
		entered <- struct{}{}
		select {
		case <-release:
		case <-ctx.Done():
		}
		io.WriteString(nc, "bye")
	})
	s := &Server{Config: Config{MaxConnections: 1}, Route: routeTo("/hold", h)}
	addr := testutil.Serve(t, s).Addr

	first := dial(t, addr)
	write(t, first, "GET /hold HTTP/1.0\r\n\r\n")
	recv(t, entered, "first handler")

	second := dial(t, addr)
	write(t, second, "GET /hold HTTP/1.0\r\n\r\n")
	resp, body := readReply(t, second)
	if resp.StatusCode != 503 || body != "too many connections\n" || resp.Header.Get("Retry-After") != "1" {
		t.Errorf("over the cap: %d %q %v", resp.StatusCode, body, resp.Header)
	}
	if st := s.Stats(); st.Rejected.OverCapacity != 1 || st.Active != 1 {
		t.Errorf("stats = %+v", st)
	}

	close(release)
	if got := readToEOF(t, first); got != "bye" {
		t.Errorf("first read %q", got)
	}
	testutil.WaitFor(t, waitFor, "first connection released", func() bool { return s.Stats().Active == 0 })
	third := dial(t, addr)
	write(t, third, "GET /hold HTTP/1.0\r\n\r\n")
	recv(t, entered, "third handler")
	if got := readToEOF(t, third); got != "bye" {
		t.Errorf("third read %q", got)
	}
}

func TestShutdownCancelsHandlersAndWaits(t *testing.T) {
	testutil.CheckGoroutines(t, waitFor)
	entered := make(chan struct{}, 1)
	cancelled := make(chan struct{})
	proceed := make(chan struct{})
	h := ConnHandlerFunc(func(ctx context.Context, nc net.Conn, _ *httphead.Request, _ []byte) {
		entered <- struct{}{}
		<-ctx.Done()
		close(cancelled)
		<-proceed // still closing when Shutdown has begun: Shutdown must wait
		io.WriteString(nc, "going away")
	})
	httpEntered := make(chan struct{}, 1)
	s := &Server{
		Config: Config{HeadReadTimeout: time.Minute},
		Route:  routeTo("/ws", h),
		HTTP: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			httpEntered <- struct{}{}
			<-r.Context().Done() // a long poll
		}),
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	addr := ln.Addr().String()

	ws := dial(t, addr)
	write(t, ws, "GET /ws HTTP/1.1\r\n\r\n")
	recv(t, entered, "handler")
	lp := dial(t, addr)
	write(t, lp, "GET /poll HTTP/1.1\r\nHost: x\r\n\r\n")
	recv(t, httpEntered, "http handler")
	idle := dial(t, addr) // reading its head, which never comes

	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	shut := make(chan error, 1)
	go func() { shut <- s.Shutdown(ctx) }()
	recv(t, cancelled, "handler context cancelled")
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned %v while a handler was running", err)
	default:
	}
	close(proceed)
	// The idle connection's head read (HeadReadTimeout 1m) and the long
	// poll end at once, so Shutdown returns well before ctx expires.
	if err := recv(t, shut, "Shutdown"); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := recv(t, served, "Serve"); !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve = %v, want ErrServerClosed", err)
	}
	if got := readToEOF(t, ws); got != "going away" {
		t.Errorf("ws read %q", got)
	}
	readToEOF(t, lp)
	readToEOF(t, idle)
	if st := s.Stats(); st.Active != 0 || st.Rejected.Timeout != 0 {
		t.Errorf("stats after Shutdown = %+v", st)
	}
	if err := s.Serve(ln); !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve after Shutdown = %v", err)
	}
}

func TestShutdownDeadlineForcesClose(t *testing.T) {
	testutil.CheckGoroutines(t, waitFor)
	entered := make(chan struct{}, 1)
	h := ConnHandlerFunc(func(ctx context.Context, nc net.Conn, _ *httphead.Request, _ []byte) {
		entered <- struct{}{}
		io.Copy(io.Discard, nc) // ignores ctx; only a closed conn stops it
	})
	s := &Server{Route: routeTo("/stuck", h)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	c := dial(t, ln.Addr().String())
	write(t, c, "GET /stuck HTTP/1.1\r\n\r\n")
	recv(t, entered, "handler")

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := s.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown = %v, want DeadlineExceeded", err)
	}
	if err := recv(t, served, "Serve"); !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve = %v", err)
	}
	readToEOF(t, c)
	testutil.WaitFor(t, waitFor, "handler gone", func() bool { return s.Stats().Active == 0 })
}

func TestShutdownBeforeServe(t *testing.T) {
	testutil.CheckGoroutines(t, waitFor)
	s := &Server{}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown = %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Serve(ln); !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve = %v, want ErrServerClosed", err)
	}
	if _, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		t.Error("listener still open after Serve returned")
	}
}

func TestHandlerPanicIsContained(t *testing.T) {
	testutil.CheckGoroutines(t, waitFor)
	s := &Server{
		Route: routeTo("/boom", ConnHandlerFunc(func(context.Context, net.Conn, *httphead.Request, []byte) {
			panic("boom")
		})),
		HTTP: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "alive") }),
	}
	addr := testutil.Serve(t, s).Addr
	c := dial(t, addr)
	write(t, c, "GET /boom HTTP/1.1\r\n\r\n")
	if got := readToEOF(t, c); got != "" {
		t.Errorf("read %q", got)
	}
	c = dial(t, addr)
	write(t, c, "GET /ok HTTP/1.0\r\n\r\n")
	if got := readToEOF(t, c); !strings.HasSuffix(got, "alive") {
		t.Errorf("after panic: %q", got)
	}
	testutil.WaitFor(t, waitFor, "connections released", func() bool { return s.Stats().Active == 0 })
}

// TestHTTPRejectsWhatNetHTTPRejects documents that ordinary requests get
// net/http's own strictness: HTTP/1.1 without Host goes to net/http, which
// answers 400.
func TestHTTPRejectsWhatNetHTTPRejects(t *testing.T) {
	testutil.CheckGoroutines(t, waitFor)
	s := &Server{HTTP: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })}
	addr := testutil.Serve(t, s).Addr
	c := dial(t, addr)
	write(t, c, "GET / HTTP/1.1\r\n\r\n")
	if got := readToEOF(t, c); !strings.HasPrefix(got, "HTTP/1.1 400 ") {
		t.Errorf("reply %q", got)
	}
	c = dial(t, addr)
	write(t, c, "GET / HTTP/1.0\r\n\r\n") // HTTP/1.0 without Host is fine
	if got := readToEOF(t, c); !strings.HasPrefix(got, "HTTP/1.0 200 ") || !strings.HasSuffix(got, "ok") {
		t.Errorf("reply %q", got)
	}
}
