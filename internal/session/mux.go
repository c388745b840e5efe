package session

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/switchboard/switchboard/protoo"
)

// Call is one request being served.
type Call struct {
	Client *Client
	ID     json.RawMessage
	Method string

	replied bool
}

// Reply sends the success response now, on the connection the request
// arrived on; the method's return value is then ignored. Subscribe uses it
// so that its reply goes out before any live publication.
func (c *Call) Reply(v any) {
	if c.replied {
		return
	}
	c.replied = true
	c.Client.reply(c.ID, v, nil)
}

// validator is implemented by request types with required fields.
type validator interface {
	validate() error
}

// method is a registered method.
type method struct {
	public bool // allowed before login
	inline bool // served on the connection's goroutine (see Mux.serve)
	serve  func(call *Call, data json.RawMessage) (any, error)
}

// Mux routes requests to methods by name. Register every method before
// the first request; a Mux is then read-only.
type Mux struct {
	methods map[string]method
}

// NewMux returns an empty Mux.
func NewMux() *Mux { return &Mux{methods: make(map[string]method)} }

// Handle registers fn for name. The request's data is decoded once into a
// T (and checked by its validate method, when it has one); a decoding
// error is answered with 400. public methods may be called before login.
func Handle[T any](m *Mux, name string, public bool, fn func(call *Call, req *T) (any, error)) {
	m.methods[name] = method{public: public, serve: func(call *Call, data json.RawMessage) (any, error) {
		req := new(T)
		if err := json.Unmarshal(data, req); err != nil {
			return nil, protoo.Errorf(protoo.CodeBadRequest, "%s: invalid data: %s", name, decodeReason(err))
		}
		if v, ok := any(req).(validator); ok {
			if err := v.validate(); err != nil {
				return nil, err
			}
		}
		return fn(call, req)
	}}
}

// inline marks the named methods, registered already, to be served on the
// connection's reader goroutine: the frequent data-plane ones, for which a
// goroutine switch per request would cost more than a grown stack.
func (m *Mux) inline(names ...string) {
	for _, n := range names {
		if meth, ok := m.methods[n]; ok {
			meth.inline = true
			m.methods[n] = meth
		}
	}
}

// serve runs a request and answers it exactly once. Only the inline
// methods run on the calling goroutine, the connection's reader; the others
// (login, subscribe, ...) run on a goroutine of their own, see onOwnStack.
func (m *Mux) serve(c *Client, req *protoo.Request) {
	meth, ok := m.methods[req.Method]
	if meth.inline {
		serveHere(c, req, meth, ok)
		return
	}
	onOwnStack(func() { serveHere(c, req, meth, ok) })
}

// onOwnStack runs fn on a new goroutine and waits for it; a panic in fn is
// raised again on the caller.
//
// A connection's reader goroutine lives as long as the connection and
// starts with a 4 KB stack, of which the read loop below the handler leaves
// about 1.8 KB. Decoding and encoding with encoding/json (over 2 KB deep),
// the hub's bookkeeping and slog need more, and the stack, once grown to
// 8 KB, is never shrunk back: the GC shrinks only stacks less than a
// quarter used, and the parked read loop uses more than 2 KB with the
// runtime's margin. Running the occasional request, such as the login every
// connection makes, on a short-lived goroutine, whose grown stack is freed
// when it ends, keeps an idle connection at 4 KB of stack.
func onOwnStack(fn func()) {
	done := make(chan any, 1)
	go func() {
		defer func() { done <- recover() }()
		fn()
	}()
	if p := <-done; p != nil {
		panic(p)
	}
}

// serveHere runs a request with its method (ok: registered) on the
// calling goroutine and answers it exactly once.
func serveHere(c *Client, req *protoo.Request, meth method, ok bool) {
	call := &Call{Client: c, ID: req.ID, Method: req.Method}
	v, err := dispatch(call, req, meth, ok)
	if err != nil && (req.Method == "login" || isLimit(protoo.CodeOf(err))) {
		c.hub.refused(c, req.Method, err)
	}
	if !call.replied {
		call.replied = true
		c.reply(req.ID, v, err)
	}
}

func dispatch(call *Call, req *protoo.Request, meth method, ok bool) (v any, err error) {
	defer func() {
		if r := recover(); r != nil {
			call.Client.hub.log.Error("session: method panicked", "method", req.Method, "panic", r)
			v, err = nil, protoo.Errorf(protoo.CodeInternal, "internal error in %s", req.Method)
		}
	}()
	if !meth.public && !call.Client.LoggedIn() {
		return nil, protoo.Errorf(protoo.CodeUnauthorized, "not logged in: the first request must be login")
	}
	if !ok {
		return nil, protoo.Errorf(protoo.CodeUnknownMethod, "unknown method %q", req.Method)
	}
	return meth.serve(call, req.Data)
}

// decodeReason makes a JSON decoding error readable for a client.
func decodeReason(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field == "" {
			return fmt.Sprintf("want a JSON %s, got %s", kindOf(te.Type.Kind().String()), te.Value)
		}
		return fmt.Sprintf("field %q: want %s, got %s", te.Field, kindOf(te.Type.Kind().String()), te.Value)
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

func kindOf(goKind string) string {
	switch goKind {
	case "struct", "map":
		return "object"
	case "slice", "array":
		return "array"
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "ptr":
		return "object"
	}
	return "number"
}
