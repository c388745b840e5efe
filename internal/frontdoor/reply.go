package frontdoor

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// ErrInvalidReply is returned by [WriteError] for a status outside 100-999
// or an extra header line containing CR or LF.
var ErrInvalidReply = errors.New("frontdoor: invalid error reply")

// WriteError writes a complete plain-text HTTP/1.1 error response in one
// Write:
//
//	HTTP/1.1 <status> <status text>
//	Content-Type: text/plain; charset=utf-8
//	Content-Length: <len(reason)+1>
//	Connection: close
//	<extra header lines>
//
//	<reason>\n
//
// Each extra element is one header line without its CRLF, such as
// "Retry-After: 1". The status text is [http.StatusText], or "Error" for an
// unknown status.
func WriteError(w io.Writer, status int, reason string, extra ...string) error {
	if status < 100 || status > 999 {
		return fmt.Errorf("%w: status %d", ErrInvalidReply, status)
	}
	text := http.StatusText(status)
	if text == "" {
		text = "Error"
	}
	n := 128 + len(reason)
	for _, h := range extra {
		if strings.ContainsAny(h, "\r\n") {
			return fmt.Errorf("%w: header line %q", ErrInvalidReply, h)
		}
		n += len(h) + 2
	}
	b := make([]byte, 0, n)
	b = append(b, "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, ' ')
	b = append(b, text...)
	b = append(b, "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(len(reason)+1), 10)
	b = append(b, "\r\nConnection: close\r\n"...)
	for _, h := range extra {
		b = append(b, h...)
		b = append(b, "\r\n"...)
	}
	b = append(b, "\r\n"...)
	b = append(b, reason...)
	b = append(b, '\n')
	_, err := w.Write(b)
	return err
}
