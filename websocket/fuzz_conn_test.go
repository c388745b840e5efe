package websocket

import (
	"bytes"
	"context"
	"net"
	"testing"
	"time"
	"unicode/utf8"
)

// scriptConn is a net.Conn that reads a fixed input, then EOF, and
// discards what is written: enough to run a Conn's whole read path.
type scriptConn struct {
	r *bytes.Reader
}

func (s *scriptConn) Read(p []byte) (int, error)       { return s.r.Read(p) }
func (s *scriptConn) Write(p []byte) (int, error)      { return len(p), nil }
func (s *scriptConn) Close() error                     { return nil }
func (s *scriptConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (s *scriptConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (s *scriptConn) SetDeadline(time.Time) error      { return nil }
func (s *scriptConn) SetReadDeadline(time.Time) error  { return nil }
func (s *scriptConn) SetWriteDeadline(time.Time) error { return nil }

// FuzzConnRead runs arbitrary client bytes through a server connection
// with permessage-deflate negotiated: framing, masking, fragmentation,
// control frames, UTF-8, inflation and limits. It must never panic or
// hang, and every message it delivers must respect the limit and, for
// text, be valid UTF-8.
func FuzzConnRead(f *testing.F) {
	mask := [4]byte{1, 2, 3, 4}
	f.Add(appendFrame(nil, OpText, true, false, &mask, []byte("hello")))
	f.Add(append(appendFrame(nil, OpText, false, false, &mask, []byte("hel")), appendFrame(nil, OpContinuation, true, false, &mask, []byte("lo"))...))
	f.Add(appendFrame(nil, OpPing, true, false, &mask, []byte("p")))
	f.Add(appendFrame(nil, OpClose, true, false, &mask, appendClosePayload(nil, StatusNormalClosure, "bye")))
	f.Add(appendFrame(nil, OpBinary, true, true, &mask, []byte{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}))
	f.Add(appendFrame(nil, OpText, true, false, &mask, []byte("\xce\xba\xe1\xbd")))
	f.Fuzz(func(t *testing.T, in []byte) {
		cfg := Config{MaxMessageBytes: 1 << 12, PingInterval: -1, CloseTimeout: time.Second}.withDefaults()
		c := newConn(&scriptConn{r: bytes.NewReader(in)}, nil, true, cfg)
		p := deflateParams{serverNoContextTakeover: true, clientNoContextTakeover: true}
		c.comp, c.decomp = newCompressor(p, true, 0), newDecompressor(p, true)
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = c.Run(context.Background(), HandlerFunc(func(_ *Conn, op Opcode, data []byte) {
				if int64(len(data)) > cfg.MaxMessageBytes {
					t.Errorf("delivered %d bytes over the %d limit", len(data), cfg.MaxMessageBytes)
				}
				if op == OpText && !utf8.Valid(data) {
					t.Errorf("delivered invalid UTF-8 text % x", data)
				}
			}))
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("connection did not end on input % x", in)
		}
	})
}
