package websocket

import "sync"

// msgPool recycles the byte slices of messages that belong to one
// connection only: the frames SendMessage encodes (back to the pool once
// written, evicted or dropped) and, with Config.ReuseMessageBuffer, the
// buffers the reader assembles messages in (back once OnMessage returns).
// An echo then allocates nothing per message. Frames shared by many
// connections (PreparedMessage) are never pooled.
var msgPool sync.Pool // of *[]byte

// maxPooledBuf is the largest buffer kept in the pool: a rare big message
// must not pin its memory there.
const maxPooledBuf = 64 << 10

// getPooled returns an empty pooled slice with room for n bytes, or nil when
// n is past maxPooledBuf.
func getPooled(n int) *[]byte {
	if n > maxPooledBuf {
		return nil
	}
	if p, _ := msgPool.Get().(*[]byte); p != nil {
		if cap(*p) >= n {
			*p = (*p)[:0]
			return p
		}
		*p = make([]byte, 0, max(n, cap(*p)*2))
		return p
	}
	b := make([]byte, 0, max(n, 512))
	return &b
}

// putPooled returns b, the slice p held or one grown from it, to the pool.
func putPooled(p *[]byte, b []byte) {
	if p == nil || cap(b) > maxPooledBuf {
		return
	}
	*p = b[:0]
	msgPool.Put(p)
}
