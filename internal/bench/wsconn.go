package bench

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// wsConn is a minimal client WebSocket connection for load generation:
// masked frames out (one write each, serialized by a mutex), frames in
// through a small buffered reader. Pings are answered; fragmented
// messages are joined.
type wsConn struct {
	nc  net.Conn
	br  *bufio.Reader
	wmu sync.Mutex
	buf []byte
}

// dialWS opens a WebSocket to host (host:port) at path, offering
// subprotocol when it is not empty.
func dialWS(ctx context.Context, host, path, subprotocol string) (*wsConn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = nc.SetDeadline(dl)
	}
	var key [16]byte
	_, _ = rand.Read(key[:])
	var b strings.Builder
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: %s\r\n",
		path, host, base64.StdEncoding.EncodeToString(key[:]))
	if subprotocol != "" {
		fmt.Fprintf(&b, "Sec-WebSocket-Protocol: %s\r\n", subprotocol)
	}
	b.WriteString("\r\n")
	if _, err := io.WriteString(nc, b.String()); err != nil {
		nc.Close()
		return nil, err
	}
	br := bufio.NewReaderSize(nc, 2048)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("handshake: %w", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		nc.Close()
		return nil, fmt.Errorf("handshake: %s", resp.Status)
	}
	_ = nc.SetDeadline(time.Time{})
	return &wsConn{nc: nc, br: br}, nil
}

// write sends one masked frame (FIN set).
func (c *wsConn) write(op byte, payload []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	b := c.buf[:0]
	b = append(b, 0x80|op)
	n := len(payload)
	switch {
	case n < 126:
		b = append(b, 0x80|byte(n))
	case n <= 0xffff:
		b = append(b, 0x80|126, byte(n>>8), byte(n))
	default:
		b = append(b, 0x80|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	var mask [4]byte
	_, _ = rand.Read(mask[:])
	b = append(b, mask[:]...)
	start := len(b)
	b = append(b, payload...)
	for i := range payload {
		b[start+i] ^= mask[i&3]
	}
	c.buf = b
	_, err := c.nc.Write(b)
	return err
}

var errClosed = errors.New("bench: closed by server")

// read returns the next data message; its bytes are valid until the next
// read.
func (c *wsConn) read(dst []byte) (byte, []byte, error) {
	dst = dst[:0]
	var op byte
	for {
		var h [2]byte
		if _, err := io.ReadFull(c.br, h[:]); err != nil {
			return 0, nil, err
		}
		fop, fin := h[0]&0x0f, h[0]&0x80 != 0
		n := uint64(h[1] & 0x7f)
		switch n {
		case 126:
			var e [2]byte
			if _, err := io.ReadFull(c.br, e[:]); err != nil {
				return 0, nil, err
			}
			n = uint64(binary.BigEndian.Uint16(e[:]))
		case 127:
			var e [8]byte
			if _, err := io.ReadFull(c.br, e[:]); err != nil {
				return 0, nil, err
			}
			n = binary.BigEndian.Uint64(e[:])
		}
		if n > 64<<20 {
			return 0, nil, fmt.Errorf("bench: frame of %d bytes", n)
		}
		start := len(dst)
		dst = slices.Grow(dst, int(n))[:start+int(n)]
		if _, err := io.ReadFull(c.br, dst[start:]); err != nil {
			return 0, nil, err
		}
		switch fop {
		case 0x8:
			return 0, nil, errClosed
		case 0x9:
			_ = c.write(0xA, dst[start:])
			dst = dst[:start]
			continue
		case 0xA:
			dst = dst[:start]
			continue
		case 0x0:
		default:
			op = fop
		}
		if fin {
			return op, dst, nil
		}
	}
}

func (c *wsConn) close() { _ = c.nc.Close() }

// growReader gives the connection a read buffer of n bytes, so that a
// server's batched frames arrive in few reads. Bytes already buffered are
// kept (the old reader is read through).
func (c *wsConn) growReader(n int) { c.br = bufio.NewReaderSize(c.br, n) }
