package client

import (
	"encoding/json"
	"strconv"

	"github.com/switchboard/switchboard/protoo"
)

// Error responses are *protoo.Error values carrying the server's errorCode
// and errorReason; test them with errors.As, errors.Is(err,
// &protoo.Error{Code: protoo.CodeNotFound}) or protoo.CodeOf.

// message is a decoded inbound message.
type message struct {
	kind   protoo.Kind
	id     uint64 // responses: the id; only ids this client made (integers) match
	idOK   bool
	method string
	data   json.RawMessage // never empty: a falsy data is {}
	err    *protoo.Error   // error responses
}

// decode parses one protoo message (docs/protoo.md); an error means
// it is to be dropped.
func decode(b []byte) (message, error) {
	pm, err := protoo.Parse(b)
	if err != nil {
		return message{}, err
	}
	switch m := pm.(type) {
	case *protoo.Request:
		return message{kind: protoo.KindRequest, method: m.Method, data: m.Data}, nil
	case *protoo.Notification:
		return message{kind: protoo.KindNotification, method: m.Method, data: m.Data}, nil
	case *protoo.Response:
		out := message{kind: protoo.KindResponse, data: m.Data}
		if id, err := strconv.ParseUint(string(m.ID), 10, 64); err == nil {
			out.id, out.idOK = id, true
		}
		if !m.OK {
			out.err = &protoo.Error{Code: m.ErrorCode, Reason: m.ErrorReason}
		}
		return out, nil
	}
	return message{}, protoo.ErrInvalid
}

// encodeRequest encodes a request with a numeric id.
func encodeRequest(id uint64, method string, data any) ([]byte, error) {
	raw, err := protoo.Marshal(data)
	if err != nil {
		return nil, err
	}
	return protoo.AppendRequest(nil, strconv.AppendUint(nil, id, 10), method, raw), nil
}
