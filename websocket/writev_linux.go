package websocket

import (
	"net"
	"os"
	"syscall"
	"unsafe"
)

// iovecs is the argument array of one writev.
type iovecs [maxIovecs]syscall.Iovec

// setRawWriter prepares the non-blocking writev path when nc is a socket
// with a file descriptor (a *net.TCPConn or *net.UnixConn).
func (c *Conn) setRawWriter(nc net.Conn) {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return
	}
	c.raw = raw
	c.writevFn = c.writev
}

// writev is the callback of raw.Write: one write(2) when c.pending holds
// one buffer, else one writev(2) of up to maxIovecs of them (c.wv.iov,
// which writeNow provides). It always returns true, so that the runtime
// never parks the caller waiting for the socket: EAGAIN is reported
// instead.
func (c *Conn) writev(fd uintptr) bool {
	var p unsafe.Pointer
	var n uintptr
	trap := uintptr(syscall.SYS_WRITE)
	if len(c.pending) == 1 {
		b := c.pending[0]
		if len(b) == 0 {
			return true
		}
		p, n = unsafe.Pointer(&b[0]), uintptr(len(b))
	} else {
		iov := c.wv.iov
		for _, b := range c.pending {
			if n == maxIovecs {
				break
			}
			if len(b) == 0 {
				continue
			}
			iov[n].Base = &b[0]
			iov[n].SetLen(len(b))
			n++
		}
		if n == 0 {
			return true
		}
		defer clear(iov[:n]) // the frames must not stay reachable from the pool
		p, trap = unsafe.Pointer(&iov[0]), syscall.SYS_WRITEV
	}
	for {
		// RawSyscall: the socket is non-blocking (see rawRead).
		r, _, errno := syscall.RawSyscall(trap, fd, uintptr(p), n)
		switch errno {
		case 0:
			c.wv.n = int64(r)
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			c.wv.again = true
		default:
			c.wv.err = os.NewSyscallError("write", errno)
		}
		return true
	}
}
