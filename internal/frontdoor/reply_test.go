package frontdoor

import (
	"errors"
	"strings"
	"testing"
)

func TestWriteError(t *testing.T) {
	tests := []struct {
		status int
		reason string
		extra  []string
		want   string
	}{
		{400, "bare LF line ending", nil,
			"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 20\r\n" +
				"Connection: close\r\n\r\nbare LF line ending\n"},
		{503, "too many connections", []string{"Retry-After: 1", "X-A: b"},
			"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 21\r\n" +
				"Connection: close\r\nRetry-After: 1\r\nX-A: b\r\n\r\ntoo many connections\n"},
		{599, "", nil,
			"HTTP/1.1 599 Error\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 1\r\n" +
				"Connection: close\r\n\r\n\n"},
	}
	for _, tt := range tests {
		var b strings.Builder
		if err := WriteError(&b, tt.status, tt.reason, tt.extra...); err != nil {
			t.Fatalf("WriteError(%d): %v", tt.status, err)
		}
		if b.String() != tt.want {
			t.Errorf("WriteError(%d) =\n%q\nwant\n%q", tt.status, b.String(), tt.want)
		}
	}
}

func TestWriteErrorInvalid(t *testing.T) {
	var b strings.Builder
	for _, tc := range []struct {
		status int
		extra  []string
	}{
		{99, nil},
		{1000, nil},
		{400, []string{"X-A: b\r\nSet-Cookie: x"}},
		{400, []string{"X-A: b\n"}},
	} {
		if err := WriteError(&b, tc.status, "x", tc.extra...); !errors.Is(err, ErrInvalidReply) {
			t.Errorf("WriteError(%d, %q) = %v, want ErrInvalidReply", tc.status, tc.extra, err)
		}
	}
	if b.Len() != 0 {
		t.Errorf("wrote %q on error", b.String())
	}
}
