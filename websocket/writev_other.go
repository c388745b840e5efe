//go:build !linux

package websocket

import "net"

// setRawWriter leaves the non-blocking path off: every write goes through
// the blocking writer goroutine.
func (c *Conn) setRawWriter(net.Conn) {}

func (c *Conn) writev(uintptr) bool { return true }

type iovecs struct{}
