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

// Methods returns the registered names.
func (m *Mux) Methods() []string {
	names := make([]string, 0, len(m.methods))
	for n := range m.methods {
		names = append(names, n)
	}
	return names
}

// serve runs a request and answers it exactly once.
func (m *Mux) serve(c *Client, req *protoo.Request) {
	call := &Call{Client: c, ID: req.ID, Method: req.Method}
	v, err := m.dispatch(call, req)
	if !call.replied {
		call.replied = true
		c.reply(req.ID, v, err)
	}
}

func (m *Mux) dispatch(call *Call, req *protoo.Request) (v any, err error) {
	defer func() {
		if r := recover(); r != nil {
			call.Client.hub.log.Error("session: method panicked", "method", req.Method, "panic", r)
			v, err = nil, protoo.Errorf(protoo.CodeInternal, "internal error in %s", req.Method)
		}
	}()
	meth, ok := m.methods[req.Method]
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
