package peerconn

import (
	"context"
	"errors"
	"net"
	"os"
	"testing"
	"testing/synctest"
	"time"

	"github.com/switchboard/switchboard/internal/httphead"
)

// These tests run the Service over net.Pipe inside a synctest bubble, so
// the 30 s expiry and the 60 s silence run on the bubble's fake clock.

// bubble is a Service and a way to send it requests, inside a bubble.
type bubble struct {
	t   *testing.T
	svc *Service
	ctx context.Context
}

func newBubble(t *testing.T) *bubble {
	svc := New(Config{Linger: time.Second})
	t.Cleanup(svc.Close)
	return &bubble{t: t, svc: svc, ctx: t.Context()}
}

// open sends raw on a new pipe connection and returns the client's end.
func (b *bubble) open(raw string) net.Conn {
	b.t.Helper()
	req, n, err := httphead.ParseRequest([]byte(raw), 16<<10)
	if err != nil {
		b.t.Fatalf("parse %q: %v", raw, err)
	}
	client, server := net.Pipe()
	go func() {
		defer server.Close()
		b.svc.ServeConn(b.ctx, server, req, []byte(raw[n:]))
	}()
	return client
}

// do sends raw and returns its response, then closes the connection.
func (b *bubble) do(raw string) string {
	b.t.Helper()
	c := b.open(raw)
	defer c.Close()
	return readResponse(b.t, c)
}

func (b *bubble) members() int { return b.svc.Channel().Stats().Members }

// pending reports whether c has nothing to read right now.
func pending(c net.Conn) bool {
	_ = c.SetReadDeadline(time.Now().Add(time.Millisecond))
	var buf [1]byte
	_, err := c.Read(buf[:])
	_ = c.SetReadDeadline(time.Time{})
	return errors.Is(err, os.ErrDeadlineExceeded)
}

// A parked wait stays silent and open for 60 s and its member is
// not expired.
func TestConformance15ParkedSilent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBubble(t)
		b.do(signIn("alice"))
		w := b.open("GET /wait?peer_id=1 HTTP/1.0\r\n\r\n")
		defer w.Close()
		time.Sleep(60 * time.Second)
		synctest.Wait()
		if !pending(w) {
			t.Fatal("the parked wait was answered or closed")
		}
		if st := b.svc.Channel().Stats(); st.Members != 1 || st.Parked != 1 {
			t.Fatalf("after 60 s: %+v, want alice parked", st)
		}
	})
}

// A member that never polls is removed after more than 30 s and
// within 32 s, with "…,0" to the others; one that keeps polling, even from
// its queue, is never removed.
func TestConformance16Expiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBubble(t)
		start := time.Now()
		b.do(signIn("alice")) // never polls
		b.do(signIn("bob"))   // polls from its queue every 10 s
		b.do(signIn("carol")) // parked
		w := b.open("GET /wait?peer_id=3 HTTP/1.0\r\n\r\n")
		defer w.Close()
		for b.members() == 3 {
			time.Sleep(100 * time.Millisecond)
			if time.Since(start)%(10*time.Second) == 0 {
				b.do(post(3, 2, "text/plain", "keep"))
				b.do("GET /wait?peer_id=2 HTTP/1.0\r\n\r\n")
			}
			synctest.Wait()
		}
		if d := time.Since(start); d <= 30*time.Second || d > 32*time.Second {
			t.Errorf("alice removed after %v, want within (30 s, 32 s]", d)
		}
		if got, exp := readResponse(t, w), want("200 OK", "text/plain", "3", "alice,1,0\n"); got != exp {
			t.Errorf("carol's notice:\n got %q\nwant %q", got, exp)
		}
		w2 := b.open("GET /wait?peer_id=3 HTTP/1.0\r\n\r\n") // carol parks again
		defer w2.Close()
		for range 12 { // two more minutes of bob polling from his queue
			time.Sleep(10 * time.Second)
			b.do(post(3, 2, "text/plain", "keep"))
			b.do("GET /wait?peer_id=2 HTTP/1.0\r\n\r\n")
		}
		synctest.Wait()
		if n := b.members(); n != 2 {
			t.Errorf("%d members, want bob and carol", n)
		}
	})
}

// Closing a parked wait starts the 30 s expiry; a new wait cancels it.
func TestConformance17CloseStartsExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBubble(t)
		b.do(signIn("alice"))
		b.do(signIn("bob"))
		wb := b.open("GET /wait?peer_id=2 HTTP/1.0\r\n\r\n")
		defer wb.Close()
		wa := b.open("GET /wait?peer_id=1 HTTP/1.0\r\n\r\n")
		readResponse(t, wa) // bob,2,1 from the queue
		wa.Close()
		wa = b.open("GET /wait?peer_id=1 HTTP/1.0\r\n\r\n")
		time.Sleep(100 * time.Second)
		synctest.Wait()
		wa.Close() // the client goes away at t=100s
		time.Sleep(29 * time.Second)
		synctest.Wait()
		if b.members() != 2 {
			t.Fatal("alice expired within 29 s of closing her wait")
		}
		wa = b.open("GET /wait?peer_id=1 HTTP/1.0\r\n\r\n") // cancels the expiry
		time.Sleep(100 * time.Second)
		synctest.Wait()
		if b.members() != 2 {
			t.Fatal("alice expired while parked again")
		}
		wa.Close()
		closed := time.Now()
		for b.members() == 2 {
			time.Sleep(100 * time.Millisecond)
			synctest.Wait()
		}
		if d := time.Since(closed); d <= 30*time.Second || d > 32*time.Second {
			t.Errorf("alice removed %v after closing her wait, want within (30 s, 32 s]", d)
		}
		if got, exp := readResponse(t, wb), want("200 OK", "text/plain", "2", "alice,1,0\n"); got != exp {
			t.Errorf("bob's notice:\n got %q\nwant %q", got, exp)
		}
	})
}
