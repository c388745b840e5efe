package peerconn

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/httphead"
)

func TestAppendResponse(t *testing.T) {
	for _, tc := range []struct {
		status, ctype string
		pragma        int
		body          string
	}{
		{StatusAdded, "text/plain", 1, "alice,1,1\n"},
		{StatusOK, "", 0, ""},
		{StatusSorry, "text/html", 0, BodySorry},
		{StatusOK, "application/json; charset=utf-8", 2147483647, "{}"},
	} {
		p := ""
		if tc.pragma != 0 {
			p = strconv.Itoa(tc.pragma)
		}
		if got, exp := string(AppendResponse([]byte("x"), tc.status, tc.ctype, tc.pragma, []byte(tc.body))), "x"+want(tc.status, tc.ctype, p, tc.body); got != exp {
			t.Errorf("got %q\nwant %q", got, exp)
		}
	}
}

// TestDispatchOrder walks the reference server's dispatch order on a
// channel with alice (1) and bob (2).
func TestDispatchOrder(t *testing.T) {
	get := func(target string) Request { return Request{Method: "GET", Target: target} }
	postTo := func(target, body string) Request {
		return Request{Method: "POST", Target: target, ContentType: "text/plain", Body: []byte(body)}
	}
	for _, tc := range []struct {
		name string
		req  Request
		want string // "" means parked
	}{
		{"wait with queue", get("/wait?peer_id=1"), want("200 OK", "text/plain", "1", "bob,2,1\n")},
		{"wait parks", get("/wait?peer_id=2"), ""},
		{"peer_id anywhere", get("/wait?xpeer_id=2"), ""},
		{"wait unknown", get("/wait?peer_id=3"), wantSorry},
		{"wait zero", get("/wait?peer_id=0"), wantSorry},
		{"wait negative", get("/wait?peer_id=-1"), wantSorry},
		{"wait plus sign", get("/wait?peer_id=+2"), ""},
		{"wait junk after id", get("/wait?peer_id=2abc"), ""},
		{"wait no id", get("/wait"), wantSorry},
		{"options on a route", Request{Method: "OPTIONS", Target: "/wait?peer_id=1"}, wantOptions},
		{"options quit", Request{Method: "OPTIONS", Target: "/quit"}, wantOptions},
		{"post to unknown path from nobody", postTo("/x", "b"), wantPeerGone},
		{"post sign_in", postTo("/sign_in?carol", "b"), want("200 Added", "text/plain", "3", "carol,3,1\nalice,1,1\nbob,2,1\n")},
		{"message to self", postTo("/message?peer_id=1&to=1", "me"), want("200 OK", "text/plain", "1", "me")},
		{"message to other", postTo("/message?peer_id=1&to=2", "hi"), wantEmptyOK},
		{"to= must follow & or ?", postTo("/message?peer_id=1&xto=2", "hi"), wantPeerGone},
		{"first to= wins", postTo("/message?to=9&peer_id=1&to=2", "hi"), wantPeerGone},
		{"sign_out ignores to=", get("/sign_out?peer_id=3&to=1"), wantEmptyOK},
		{"sign_out again", get("/sign_out?peer_id=3"), wantSorry},
		{"absolute form", get("http://h/sign_in?x"), wantSorry},
		{"quit disabled", get("/quit"), wantSorry},
		{"PUT", Request{Method: "PUT", Target: "/sign_in"}, want("405 Method Not Allowed", "text/plain", "", "method not allowed: use GET, POST or OPTIONS\n")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ch := NewChannel(Config{})
			now := time.Now()
			ch.Dispatch(get("/sign_in?alice"), now)
			ch.Dispatch(get("/sign_in?bob"), now)
			if strings.HasPrefix(tc.name, "sign_out") {
				ch.Dispatch(get("/sign_in?carol"), now)
				if tc.name == "sign_out again" {
					ch.Dispatch(get("/sign_out?peer_id=3"), now)
				}
			}
			out := ch.Dispatch(tc.req, now)
			if tc.want == "" {
				if out.Parked == nil || out.Response != nil {
					t.Fatalf("not parked: %q", out.Response)
				}
				return
			}
			if string(out.Response) != tc.want {
				t.Errorf("got %q\nwant %q", out.Response, tc.want)
			}
		})
	}
}

func TestIsRoute(t *testing.T) {
	for target, exp := range map[string]bool{
		"/sign_in?x": true, "/sign_out": true, "/wait?peer_id=1": true, "/message": true, "/quit": true,
		"/": false, "/sign_in/x": false, "/healthz": false, "/ws": false,
	} {
		if got := IsRoute("GET", target); got != exp {
			t.Errorf("IsRoute(GET, %q) = %v", target, got)
		}
	}
	if !IsRoute("OPTIONS", "/anything") {
		t.Error("OPTIONS is not routed")
	}
}

// FuzzDispatch runs arbitrary request bytes through the request path of a
// connection: the lenient head parser, the POST checks and the dispatcher,
// on a channel with members, parked waits and queues. Every answer must be
// a complete response in the reference layout whose Content-Length matches.
func FuzzDispatch(f *testing.F) {
	for _, seed := range []string{
		"GET /sign_in?alice HTTP/1.0\r\n\r\n",
		"GET /sign_in?John Doe@pc HTTP/1.0\r\n\r\n",
		"GET /wait?peer_id=1\r\n\r\n",
		"POST /message?peer_id=1&to=2 HTTP/1.0\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nhi",
		"POST /message?to=2&peer_id=2 HTTP/1.1\r\nContent-Length: 3\r\nContent-Type: a\r\nExpect: 100-continue\r\n\r\nBYE",
		"POST /message?peer_id=1&to=2 HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Type: a\r\n\r\n",
		"GET /sign_out?peer_id=2&to=1 HTTP/1.0\r\n\r\n",
		"OPTIONS * HTTP/1.1\r\n\r\n",
		"GET /quit HTTP/1.0\r\n\r\n",
		"HEAD / HTTP/1.1\r\n\r\n",
		"GET /wait?peer_id=99999999999999999999 HTTP/1.0\r\n\r\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		ch := NewChannel(Config{AllowQuit: true, MaxBodyBytes: 1 << 10, MaxQueueItems: 4, MaxMembers: 8})
		now := time.Now()
		for _, name := range []string{"alice", "bob"} {
			ch.Dispatch(Request{Method: "GET", Target: "/sign_in?" + name}, now)
		}
		parked := NewWait(nil)
		ch.Dispatch(Request{Method: "GET", Target: "/wait?peer_id=2", Park: parked}, now)

		req, n, err := httphead.ParseRequest(raw, 1<<10)
		if err != nil {
			return // the front door answers these
		}
		if n > 1<<10 {
			t.Fatalf("head of %d bytes accepted beyond the limit", n)
		}
		r := Request{Method: req.Method, Target: req.Target, Loopback: true}
		if req.Method == "POST" {
			length, ctype, reject := CheckPost(req.Header, 1<<10)
			if reject != nil {
				checkResponse(t, reject)
				return
			}
			if length > 1<<10 {
				t.Fatalf("body of %d bytes accepted beyond the limit", length)
			}
			body := raw[n:]
			if len(body) < length {
				return // the connection would wait for the rest
			}
			r.ContentType, r.Body = ctype, body[:length]
		}
		out := ch.Dispatch(r, now)
		if out.Parked == nil {
			checkResponse(t, out.Response)
		}
		select {
		case d := <-parked.C():
			if d.Response != nil {
				checkResponse(t, d.Response)
			}
		default:
		}
		ch.Expire(now.Add(time.Hour))
		if st := ch.Stats(); st.Members > 8 || st.Queued > 8 {
			t.Fatalf("limits exceeded: %+v", st)
		}
	})
}

// checkResponse checks the reference layout and the Content-Length of resp.
func checkResponse(t *testing.T, resp []byte) {
	t.Helper()
	head, body, ok := bytes.Cut(resp, []byte("\r\n\r\n"))
	if !ok || !bytes.HasPrefix(head, []byte("HTTP/1.1 ")) {
		t.Fatalf("not a response: %q", resp)
	}
	if !bytes.HasPrefix(head[bytes.IndexByte(head, '\n')+1:], []byte(tHDR)) ||
		!bytes.HasSuffix(head, []byte(strings.TrimSuffix("\r\n"+tCORS, "\r\n"))) {
		t.Fatalf("bad layout: %q", head)
	}
	if !bytes.Contains(head, []byte("\r\nContent-Length: "+strconv.Itoa(len(body))+"\r\n")) {
		t.Fatalf("Content-Length does not match a body of %d bytes: %q", len(body), head)
	}
}
