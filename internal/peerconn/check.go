package peerconn

import (
	"net/http"
	"strconv"
)

// CheckPost checks the head of a POST before its body is read
// (docs/peerconnection.md, "Where Switchboard differs") and returns the
// Content-Length and Content-Type to use, or the response to answer with
// instead (400 or 413). h has canonical keys, as internal/httphead produces
// them.
func CheckPost(h http.Header, maxBody int) (length int, contentType string, reject []byte) {
	if _, ok := h["Transfer-Encoding"]; ok {
		return 0, "", errorResponse(StatusBadRequest, "Transfer-Encoding is not supported: send Content-Length")
	}
	types := h["Content-Type"]
	switch {
	case len(types) == 0 || types[0] == "":
		return 0, "", errorResponse(StatusBadRequest, "missing Content-Type")
	case len(types) > 1:
		return 0, "", errorResponse(StatusBadRequest, "more than one Content-Type")
	}
	contentType = types[0]
	for i := 0; i < len(contentType); i++ {
		if b := contentType[i]; (b < 0x20 && b != '\t') || b == 0x7f {
			return 0, "", errorResponse(StatusBadRequest, "control character in Content-Type")
		}
	}
	lengths := h["Content-Length"]
	if len(lengths) == 0 {
		return 0, "", errorResponse(StatusBadRequest, "missing Content-Length")
	}
	for _, v := range lengths[1:] {
		if v != lengths[0] {
			return 0, "", errorResponse(StatusBadRequest, "conflicting Content-Length values")
		}
	}
	v := lengths[0]
	if v == "" || len(v) > 19 {
		return 0, "", errorResponse(StatusBadRequest, "invalid Content-Length")
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return 0, "", errorResponse(StatusBadRequest, "invalid Content-Length")
		}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	switch {
	case err != nil:
		return 0, "", errorResponse(StatusBadRequest, "invalid Content-Length")
	case n == 0:
		return 0, "", errorResponse(StatusBadRequest, "empty body: Content-Length must be at least 1")
	case n > int64(maxBody):
		return 0, "", errorResponse(StatusTooLarge, "body larger than "+strconv.Itoa(maxBody)+" bytes")
	}
	return int(n), contentType, nil
}
