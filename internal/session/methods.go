package session

import (
	"encoding/json"
	"errors"

	"github.com/switchboard/switchboard/internal/broker"
	"github.com/switchboard/switchboard/internal/names"
	"github.com/switchboard/switchboard/protoo"
	"github.com/switchboard/switchboard/websocket"
)

// registerMethods registers the messaging methods (docs/messaging.md).
func registerMethods(m *Mux) {
	Handle(m, "login", true, login)
	Handle(m, "echo", false, echo)
	Handle(m, "send", false, send)
	Handle(m, "online", false, online)
	Handle(m, "subscribe", false, subscribe)
	Handle(m, "unsubscribe", false, unsubscribe)
	Handle(m, "publish", false, publish)
	m.inline("echo", "send", "publish")
}

type loginRequest struct {
	Name   *string `json:"name"`
	Token  string  `json:"token"` // reserved for authentication; unused yet
	Resume string  `json:"resume"`
}

func (r *loginRequest) validate() error {
	if r.Name == nil {
		return protoo.Errorf(protoo.CodeBadRequest, "login: missing name")
	}
	return nil
}

func login(call *Call, req *loginRequest) (any, error) {
	return call.Client.hub.login(call.Client, *req.Name, req.Resume, false, nil)
}

func echo(_ *Call, req *json.RawMessage) (any, error) { return *req, nil }

type sendRequest struct {
	To   *string         `json:"to"`
	Data json.RawMessage `json:"data"`
}

func (r *sendRequest) validate() error {
	switch {
	case r.To == nil:
		return protoo.Errorf(protoo.CodeBadRequest, "send: missing to")
	case len(r.Data) == 0:
		return protoo.Errorf(protoo.CodeBadRequest, "send: missing data")
	}
	return nil
}

// message is the data of notification message.
type message struct {
	From string          `json:"from"`
	Data json.RawMessage `json:"data"`
}

func send(call *Call, req *sendRequest) (any, error) {
	h := call.Client.hub
	to, ok := h.dir.Lookup(*req.To)
	if !ok {
		return nil, protoo.Errorf(protoo.CodeNotFound, "no client named %q is online", *req.To)
	}
	data, err := json.Marshal(message{From: call.Client.Session().Name(), Data: req.Data})
	if err != nil {
		return nil, err
	}
	b := protoo.AppendNotification(nil, "message", data)
	switch h.router.Send(to.Key, websocket.NewPreparedMessage(websocket.OpText, b), len(b)) {
	case ErrOffline:
		return nil, protoo.Errorf(protoo.CodeNotFound, "%q is offline", *req.To)
	case ErrBusy:
		h.stats.Busy.Add(1)
		return nil, protoo.Errorf(protoo.CodeTooMany, "%q is not keeping up: its queue is half full, try again later", *req.To)
	}
	return struct{}{}, nil
}

// MaxOnlinePage is the most names one online reply carries, and its
// default page size.
const MaxOnlinePage = 1000

type onlineRequest struct {
	After string `json:"after"` // the last name of the previous page
	Limit *int   `json:"limit"` // names per page, 1 to MaxOnlinePage
}

func (r *onlineRequest) validate() error {
	if r.Limit != nil && *r.Limit < 1 {
		return protoo.Errorf(protoo.CodeBadRequest, "online: limit must be at least 1, got %d", *r.Limit)
	}
	return nil
}

// onlineReply is one page of the sorted names online; More says that
// names follow the last one (ask again with after set to it).
type onlineReply struct {
	Names []string `json:"names"`
	More  bool     `json:"more,omitempty"`
}

func online(call *Call, req *onlineRequest) (any, error) {
	limit := MaxOnlinePage
	if req.Limit != nil {
		limit = min(*req.Limit, MaxOnlinePage)
	}
	names, more := call.Client.hub.dir.Online(req.After, limit)
	return onlineReply{Names: names, More: more}, nil
}

type subscribeRequest struct {
	Channel *string          `json:"channel"`
	Since   *broker.Position `json:"since"`
}

func (r *subscribeRequest) validate() error { return checkChannel("subscribe", r.Channel) }

func checkChannel(method string, ch *string) error {
	if ch == nil {
		return protoo.Errorf(protoo.CodeBadRequest, "%s: missing channel", method)
	}
	if n := len(*ch); n > broker.MaxChannelName {
		return protoo.Errorf(protoo.CodeBadRequest, "%s: channel name has %d bytes, at most %d allowed", method, n, broker.MaxChannelName)
	}
	if err := names.Check(*ch, broker.MaxChannelName); err != nil {
		return protoo.Errorf(protoo.CodeBadRequest, "%s: channel name %s", method, err)
	}
	return nil
}

func subscribe(call *Call, req *subscribeRequest) (any, error) {
	s := call.Client.Session()
	b := call.Client.hub.broker
	opts := broker.SubscribeOptions{Since: req.Since, Quota: &s.quota}
	err := b.Subscribe(*req.Channel, s, opts, func(res broker.SubscribeResult) { call.Reply(res) })
	if err != nil {
		return nil, brokerError(err)
	}
	if !s.subscribed(*req.Channel, true) {
		b.Unsubscribe(*req.Channel, s)
	}
	return nil, nil
}

type unsubscribeRequest struct {
	Channel *string `json:"channel"`
}

func (r *unsubscribeRequest) validate() error { return checkChannel("unsubscribe", r.Channel) }

func unsubscribe(call *Call, req *unsubscribeRequest) (any, error) {
	s := call.Client.Session()
	s.subscribed(*req.Channel, false)
	call.Client.hub.broker.Unsubscribe(*req.Channel, s)
	return struct{}{}, nil
}

type publishRequest struct {
	Channel *string         `json:"channel"`
	Data    json.RawMessage `json:"data"`
}

func (r *publishRequest) validate() error {
	if err := checkChannel("publish", r.Channel); err != nil {
		return err
	}
	if len(r.Data) == 0 {
		return protoo.Errorf(protoo.CodeBadRequest, "publish: missing data")
	}
	return nil
}

func publish(call *Call, req *publishRequest) (any, error) {
	s := call.Client.Session()
	off, err := call.Client.hub.broker.Publish(*req.Channel, broker.Message{From: s.Name(), Data: req.Data, Quota: &s.quota})
	if err != nil {
		return nil, brokerError(err)
	}
	return struct {
		Offset uint64 `json:"offset"`
	}{off}, nil
}

// brokerError maps the broker's errors to protoo codes.
func brokerError(err error) error {
	switch {
	case errors.Is(err, broker.ErrForbidden):
		return protoo.Errorf(protoo.CodeForbidden, "only the server publishes on this channel")
	case errors.Is(err, broker.ErrInvalidChannel):
		return protoo.Errorf(protoo.CodeBadRequest, "invalid channel name")
	case errors.Is(err, broker.ErrTooManyChannels):
		return protoo.Errorf(protoo.CodeTooMany, "too many channels")
	}
	var qe *broker.QuotaError
	if errors.As(err, &qe) {
		return protoo.Errorf(protoo.CodeTooMany, "channel quota: this session created %d channels that are still in use, the most it may; idle ones are removed once their history expires", qe.Limit)
	}
	return err
}
