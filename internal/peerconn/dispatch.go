package peerconn

import (
	"strings"
	"time"
)

// Request is one request as the dispatcher sees it: the head already
// parsed and, for a POST, exactly Content-Length body bytes.
type Request struct {
	Method      string // as sent: GET, POST, OPTIONS; anything else is 405
	Target      string // raw request target
	ContentType string // POST only: the Content-Type value, verbatim
	Body        []byte // POST only
	Loopback    bool   // the client is on a loopback address (for /quit)
	// Park is the Wait to park if the request is a /wait of a member whose
	// queue is empty. nil means a fresh Wait without a wake function.
	Park *Wait
}

// Outcome is what the connection must do after [Channel.Dispatch].
type Outcome struct {
	// Response is the complete response to write, then close. It is nil
	// when the request was parked.
	Response []byte
	// Parked is the Wait the request was parked as, or nil. Its
	// connection waits for the Delivery on Parked.C().
	Parked *Wait
	// Quit reports an allowed /quit: after writing Response, the server
	// should stop.
	Quit bool
}

// The paths of the peerconnection protocol (docs/peerconnection.md,
// "Responses").
const (
	pathSignIn  = "/sign_in"
	pathSignOut = "/sign_out"
	pathWait    = "/wait"
	pathMessage = "/message"
	pathQuit    = "/quit"
)

// IsRoute reports whether a request with this method and target belongs to
// the peerconnection service on a shared port: its path is one of
// /sign_in, /sign_out, /wait, /message, /quit, or its method is OPTIONS.
func IsRoute(method, target string) bool {
	if method == "OPTIONS" {
		return true
	}
	switch pathOf(target) {
	case pathSignIn, pathSignOut, pathWait, pathMessage, pathQuit:
		return true
	}
	return false
}

func pathOf(target string) string {
	if i := strings.IndexByte(target, '?'); i >= 0 {
		return target[:i]
	}
	return target
}

func queryOf(target string) string {
	if i := strings.IndexByte(target, '?'); i >= 0 {
		return target[i+1:]
	}
	return ""
}

// Dispatch applies one request to the channel, in the reference server's
// dispatch order (docs/peerconnection.md, "Responses"), with Switchboard's
// answers to input the reference never answers (docs/peerconnection.md, "Where
// Switchboard differs"). A POST must already have been checked by [CheckPost].
// now is the time of the request.
func (c *Channel) Dispatch(r Request, now time.Time) Outcome {
	switch r.Method {
	case "GET", "POST", "OPTIONS":
	default:
		return Outcome{Response: errorResponse(StatusNotAllowed, "method not allowed: use GET, POST or OPTIONS")}
	}
	path := pathOf(r.Target)
	query := queryOf(r.Target)
	isPost := r.Method == "POST"

	c.mu.Lock()
	defer c.mu.Unlock()

	// 1. Member lookup, with its side effects.
	var m Member
	var mb *box // nil: no member
	var parked *Wait
	if (r.Method == "GET" || isPost) && (path == pathWait || path == pathSignOut || path == pathMessage) {
		if i := strings.Index(query, "peer_id="); i >= 0 {
			if id, ok := atoi(query[i+len("peer_id="):]); ok {
				m, mb = c.lookupLocked(id)
			}
		}
	}
	if mb != nil {
		switch path {
		case pathWait:
			w := r.Park
			if w == nil {
				w = NewWait(nil)
			}
			if resp := c.mail.wait(mb, w, now); resp != nil {
				return Outcome{Response: resp}
			}
			parked = w
		case pathSignOut:
			c.removeLocked(m, mb, now)
			c.stats.signOuts.Add(1)
		}
	}

	// 2. A "peer connection" request.
	peerConn := (isPost && len(r.Body) > 0) || (r.Method == "GET" && path == pathSignIn)

	switch {
	case mb == nil && !peerConn: // 3. browser request
		switch {
		case r.Target == pathQuit && c.cfg.AllowQuit && r.Loopback:
			return Outcome{Response: respQuitting, Quit: true}
		case r.Method == "OPTIONS":
			return Outcome{Response: respOptions}
		}
		return Outcome{Response: respSorry}
	case mb == nil: // 4.
		if path == pathSignIn {
			return Outcome{Response: c.signInLocked(query, now)}
		}
		return Outcome{Response: respPeerGone}
	case path == pathWait: // 5.
		return Outcome{Parked: parked}
	case path == pathSignOut: // 6b; to= is ignored (docs/peerconnection.md)
		return Outcome{Response: respEmptyOK}
	}

	// 6a. /message: a targeted request.
	to, tb := c.targetLocked(query)
	switch {
	case tb == nil:
		return Outcome{Response: respPeerGone}
	case !isPost:
		return Outcome{Response: errorResponse(StatusBadRequest, "a message needs a POST body")}
	case to.ID == m.ID:
		return Outcome{Response: response(StatusOK, r.ContentType, m.ID, r.Body)}
	}
	if reason := c.mail.deliver(tb, response(StatusOK, r.ContentType, m.ID, r.Body)); reason != "" {
		c.stats.refused.Add(1)
		return Outcome{Response: errorResponse(StatusUnavailable, reason)}
	}
	c.stats.messages.Add(1)
	return Outcome{Response: respEmptyOK}
}

// targetLocked finds the member named by the first "to=" that directly follows
// the start of the query or an '&' (docs/peerconnection.md, "Responses"), and
// its box; the box is nil when there is no such member.
func (c *Channel) targetLocked(query string) (Member, *box) {
	for i := 0; ; {
		j := strings.Index(query[i:], "to=")
		if j < 0 {
			return Member{}, nil
		}
		j += i
		if j == 0 || query[j-1] == '&' {
			id, ok := atoi(query[j+len("to="):])
			if !ok {
				return Member{}, nil
			}
			return c.lookupLocked(id)
		}
		i = j + len("to=")
	}
}

// atoi parses s like C's atoi (leading whitespace, optional sign, decimal
// digits, stopping at the first other byte; no digits is 0), except that
// an id that does not fit is reported as no match.
func atoi(s string) (int, bool) {
	i := 0
	for i < len(s) && (s[i] == ' ' || (s[i] >= '\t' && s[i] <= '\r')) {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	n := 0
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		n = n*10 + int(s[i]-'0')
		if n > MaxID {
			return 0, false
		}
	}
	if neg {
		n = -n
	}
	return n, true
}
