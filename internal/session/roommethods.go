package session

import (
	"encoding/json"

	"github.com/switchboard/switchboard/protoo"
)

// registerRoomMethods registers the room signaling methods and the
// mediasoup methods that would need an SFU (docs/messaging.md, Rooms).
func registerRoomMethods(m *Mux) {
	Handle(m, "join", false, joinRoom)
	Handle(m, "leave", false, leaveRoom)
	Handle(m, "signal", false, signalPeer)
	for _, name := range sfuMethods {
		Handle(m, name, true, func(_ *Call, _ *json.RawMessage) (any, error) {
			return nil, protoo.Errorf(protoo.CodeUnknownMethod, "%s needs an SFU: media is peer-to-peer here, relay SDP and ICE with signal", name)
		})
	}
}

// sfuMethods are the mediasoup-demo requests that need a media router
// (docs/rooms.md). Switchboard relays signaling only, so each gets
// error 501 with a reason saying so, at once.
var sfuMethods = []string{
	"getRouterRtpCapabilities", "createWebRtcTransport", "connectWebRtcTransport", "restartIce",
	"produce", "closeProducer", "pauseProducer", "resumeProducer",
	"pauseConsumer", "resumeConsumer", "setConsumerPreferredLayers", "setConsumerPriority", "requestConsumerKeyFrame",
	"consume", "consumeData", "produceData", "getTransportStats", "getProducerStats", "getConsumerStats",
	"getDataProducerStats", "getDataConsumerStats",
}

type joinRequest struct {
	Room *string         `json:"room"`
	Info json.RawMessage `json:"info"`
	raw  json.RawMessage // the whole data
}

func (r *joinRequest) UnmarshalJSON(b []byte) error {
	type plain joinRequest
	if err := json.Unmarshal(b, (*plain)(r)); err != nil {
		return err
	}
	r.raw = append(json.RawMessage(nil), b...)
	return nil
}

// joinRoom joins {room, info}. Without room, a connection whose URL had
// roomId joins that room with the whole data as its info, as
// mediasoup-demo's join {displayName, device, ...} expects.
func joinRoom(call *Call, req *joinRequest) (any, error) {
	room, info := req.Room, req.Info
	if room == nil {
		urlRoom := call.Client.urlRoom
		if urlRoom == "" {
			return nil, protoo.Errorf(protoo.CodeBadRequest, "join: missing room")
		}
		room, info = &urlRoom, req.raw
	}
	// The reply goes out before the others' peerJoined, so that no signal
	// from a member who heard of the join overtakes it.
	reply := func(res *JoinResult) { call.Reply(res) }
	return call.Client.hub.join(call.Client.Session(), *room, info, reply)
}

// join joins s to a room, refused once s has ended.
func (h *Hub) join(s *Session, room string, info json.RawMessage, reply func(*JoinResult)) (*JoinResult, error) {
	return h.rooms.Join(Join{Member: s.member(), Room: room, Info: info, Reply: reply, Ended: s.isEnded})
}

type leaveRequest struct {
	Room *string `json:"room"`
}

func (r *leaveRequest) validate() error {
	if r.Room == nil {
		return protoo.Errorf(protoo.CodeBadRequest, "leave: missing room")
	}
	return nil
}

func leaveRoom(call *Call, req *leaveRequest) (any, error) {
	if err := call.Client.hub.rooms.Leave(call.Client.Session().member(), *req.Room); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

type signalRequest struct {
	Room *string         `json:"room"`
	To   *string         `json:"to"`
	Data json.RawMessage `json:"data"`
}

func (r *signalRequest) validate() error {
	switch {
	case r.Room == nil:
		return protoo.Errorf(protoo.CodeBadRequest, "signal: missing room")
	case r.To == nil:
		return protoo.Errorf(protoo.CodeBadRequest, "signal: missing to")
	case len(r.Data) == 0:
		return protoo.Errorf(protoo.CodeBadRequest, "signal: missing data")
	}
	return nil
}

func signalPeer(call *Call, req *signalRequest) (any, error) {
	h := call.Client.hub
	if err := h.rooms.Signal(call.Client.Session().member(), *req.Room, *req.To, req.Data); err != nil {
		if protoo.CodeOf(err) == protoo.CodeTooMany {
			h.stats.Busy.Add(1)
		}
		return nil, err
	}
	return struct{}{}, nil
}
