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

// writev is the callback of raw.Write: one writev(2) of up to maxIovecs
// buffers of c.pending. It always returns true, so that the runtime never
// parks the caller waiting for the socket: EAGAIN is reported instead.
func (c *Conn) writev(fd uintptr) bool {
	iov := c.wv.iov
	n := 0
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
	for {
		var r uintptr
		var errno syscall.Errno
		if n == 1 {
			// One buffer: write(2) is a little cheaper than writev.
			r, _, errno = syscall.Syscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(iov[0].Base)), uintptr(iov[0].Len))
		} else {
			r, _, errno = syscall.Syscall(syscall.SYS_WRITEV, fd, uintptr(unsafe.Pointer(&iov[0])), uintptr(n))
		}
		switch errno {
		case 0:
			c.wv.n = int64(r)
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			c.wv.again = true
		default:
			c.wv.err = os.NewSyscallError("writev", errno)
		}
		break
	}
	clear(iov[:n]) // the frames must not stay reachable from the pool
	return true
}
