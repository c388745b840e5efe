//go:build !linux

package websocket

// canReadRaw reports whether readBuffer reads through the raw conn here.
// Off Linux the buffer is taken before a blocking Read, as bufio does.
const canReadRaw = false

// rawRead is never called where canReadRaw is false.
func (b *readBuffer) rawRead(uintptr) bool { return true }
