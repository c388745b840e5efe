package websocket

import (
	"bufio"
	"io"
	"os"
	"syscall"
	"unsafe"
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
	p := b.buf[b.w:]
	if len(p) == 0 { // callers make room first; never crash the server if not
		b.rn, b.rerr = 0, bufio.ErrBufferFull
		return true
	}
	for {
		// RawSyscall, not Syscall: the socket is non-blocking, so the
		// call returns at once and the scheduler need not hand the P
		// over around it (entersyscall/exitsyscall cost about 5% of an
		// echo's CPU).
		r, _, errno := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
		switch {
		case errno == syscall.EINTR:
			continue
		case errno == syscall.EAGAIN:
			b.drop()
			return false
		case errno != 0:
			b.rn, b.rerr = 0, os.NewSyscallError("read", errno)
		case r == 0:
			b.rn, b.rerr = 0, io.EOF
		default:
			b.rn, b.rerr = int(r), nil
		}
		return true
	}
}
