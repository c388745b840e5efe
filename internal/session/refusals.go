package session

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/switchboard/switchboard/protoo"
	"github.com/switchboard/switchboard/websocket"
)

// Refusals a client cannot always explain (a full room, a limit, a slow
// consumer closed, a failed login, a refused URL) are logged at info with
// the remote address and the reason, so that an operator can answer "why
// was I thrown out". A flood of them must not fill the disk: a token
// bucket lets refusalBurst lines through at once and refusalRate a second
// after that; the lines it holds back are counted, and the next line that
// is logged says how many ("suppressed").
const (
	refusalBurst = 20
	refusalRate  = 5 // lines per second, once the burst is spent
)

// refusalLog is the rate-limited refusal logger.
type refusalLog struct {
	log *slog.Logger
	now func() time.Time // time.Now; tests replace it

	mu         sync.Mutex
	tokens     float64
	last       time.Time
	suppressed int64
}

func newRefusalLog(log *slog.Logger) *refusalLog {
	return &refusalLog{log: log, now: time.Now, tokens: refusalBurst}
}

// take spends a token; it reports whether a line may be logged and how
// many were suppressed since the last one.
func (l *refusalLog) take() (bool, int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if !l.last.IsZero() {
		l.tokens = min(refusalBurst, l.tokens+now.Sub(l.last).Seconds()*refusalRate)
	}
	l.last = now
	if l.tokens < 1 {
		l.suppressed++
		return false, 0
	}
	l.tokens--
	n := l.suppressed
	l.suppressed = 0
	return true, n
}

// refused logs that c was refused: what is the method or event
// ("join", "url", "login", "connection"), err the protoo error.
func (h *Hub) refused(c *Client, what string, err error) {
	addr := ""
	if a := c.t.RemoteAddr(); a != nil {
		addr = a.String()
	}
	name := ""
	if s := c.Session(); s != nil {
		name = s.name
	}
	h.logRefusal(addr, name, what, protoo.CodeOf(err), reasonOf(err))
}

// refusedAddr logs a refusal that has no connection any more.
func (h *Hub) refusedAddr(addr, what, reason string) {
	h.logRefusal(addr, "", what, 0, reason)
}

func (h *Hub) logRefusal(addr, name, what string, code protoo.ErrorCode, reason string) {
	h.stats.Refused.Add(1)
	ok, suppressed := h.refusals.take()
	if !ok {
		return
	}
	attrs := make([]slog.Attr, 0, 6)
	attrs = append(attrs, slog.String("remote", addr), slog.String("what", what))
	if name != "" {
		attrs = append(attrs, slog.String("name", name))
	}
	if code != 0 {
		attrs = append(attrs, slog.Int("code", int(code)))
	}
	attrs = append(attrs, slog.String("reason", reason))
	if suppressed > 0 {
		attrs = append(attrs, slog.Int64("suppressed", suppressed))
	}
	h.refusals.log.LogAttrs(context.Background(), slog.LevelInfo, "session: refused", attrs...)
}

// isLimit reports whether a protoo error code is a limit a client may hit
// without knowing why.
func isLimit(code protoo.ErrorCode) bool {
	return code == protoo.CodeTooMany || code == protoo.CodeTooLarge
}

// closedBy describes a close the connection made for a reason the client
// may not know.
func closedBy(code websocket.StatusCode) error {
	switch code {
	case websocket.StatusTryAgainLater:
		return protoo.Errorf(protoo.CodeTooMany, "closed with %d: slow consumer, its outbound queue was full", uint16(code))
	case websocket.StatusMessageTooBig:
		return protoo.Errorf(protoo.CodeTooLarge, "closed with %d: a message was over the size limit", uint16(code))
	}
	return protoo.Errorf(protoo.CodeBadRequest, "closed with %d: %s", uint16(code), code)
}
