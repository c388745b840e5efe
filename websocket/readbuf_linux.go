package websocket

import (
	"io"
	"os"
	"syscall"
)

// canReadRaw reports whether readBuffer reads through the raw conn here.
const canReadRaw = true

// rawRead is the raw-conn callback of readBuffer.fill: one non-blocking
// read(2) into the buffer, borrowing one if none is held. On EAGAIN a
// borrowed buffer that holds nothing goes back to the pool and the
// callback returns false, so the runtime parks the goroutine in the
// netpoller (honouring read deadlines) holding no buffer, and calls it
// again when the socket is readable. A ready socket costs one system call,
// as a plain Read does.
func (b *readBuffer) rawRead(fd uintptr) bool {
	if b.held == nil {
		b.take()
	}
	for {
		n, err := syscall.Read(int(fd), b.buf[b.w:])
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			b.drop()
			return false
		case err != nil:
			b.rn, b.rerr = 0, os.NewSyscallError("read", err)
		case n == 0:
			b.rn, b.rerr = 0, io.EOF
		default:
			b.rn, b.rerr = n, nil
		}
		return true
	}
}
