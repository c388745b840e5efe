package websocket

import (
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
)

// This file compresses and decompresses message payloads for
// permessage-deflate (RFC 7692 §7.2). Negotiation lives in extension.go.
//
// Memory: flate.NewWriter allocates 0.7-1.2 MB (1.2 MB at flate.BestSpeed,
// Go 1.26) and flate.NewReader about 40 KB. Without context takeover neither
// is held between messages: both come from sync.Pools and go back after each
// message, so an idle connection owns no compression state. With context
// takeover a connection keeps one writer and one reader plus a 32 KiB window
// for as long as it lives.

// DeflateConfig configures permessage-deflate (RFC 7692). The zero value
// enables it without context takeover at flate.BestSpeed.
type DeflateConfig struct {
	// Disabled turns compression off: a server declines every offer and a
	// client offers nothing.
	Disabled bool
	// ContextTakeover lets both sides keep their LZ77 window from one message
	// to the next when the peer agrees: better ratios for streams of similar
	// messages, at about 1.3 MB of compressor and decompressor state per
	// connection. Default false: every message is compressed on its own and
	// the state is pooled.
	ContextTakeover bool
	// Level is the compress/flate level, from flate.HuffmanOnly (-2) to
	// flate.BestCompression (9). 0 means flate.BestSpeed (so
	// flate.NoCompression cannot be chosen); values outside the range mean
	// flate.BestSpeed too.
	Level int
}

var (
	// errDeflateTooBig means a message inflates to more than the read
	// limit; the connection closes with 1009. Decompression stops as soon
	// as the limit is passed.
	errDeflateTooBig = errors.New("websocket: decompressed message exceeds the read limit")
	// errDeflateCorrupt wraps the compress/flate error for a payload that
	// is not valid DEFLATE data; the connection closes with 1002.
	errDeflateCorrupt = errors.New("websocket: corrupt compressed message")
)

const (
	// deflateWindow is the LZ77 window of compress/flate and the largest
	// RFC 7692 allows (server_max_window_bits=15).
	deflateWindow = 1 << 15
	// deflateTail completes a payload before inflating it: the
	// 00 00 ff ff that the sender stripped (RFC 7692 §7.2.2), then an empty
	// final stored block so that the reader ends with io.EOF.
	deflateTail = "\x00\x00\xff\xff\x01\x00\x00\xff\xff"
)

// normalizeDeflateLevel maps a DeflateConfig.Level to a valid flate level.
func normalizeDeflateLevel(level int) int {
	if level == flate.NoCompression || level < flate.HuffmanOnly || level > flate.BestCompression {
		return flate.BestSpeed
	}
	return level
}

// deflateWriterPools holds idle writers by level (index level+2). A pooled
// writer stays bound to its own sink, so taking one allocates nothing.
var deflateWriterPools [flate.BestCompression - flate.HuffmanOnly + 1]sync.Pool

// deflateSink collects a writer's output by appending to a caller's slice.
type deflateSink struct{ b []byte }

func (s *deflateSink) Write(p []byte) (int, error) {
	s.b = append(s.b, p...)
	return len(p), nil
}

// pooledWriter is a flate.Writer writing into its sink.
type pooledWriter struct {
	sink deflateSink
	fw   *flate.Writer
}

func getDeflateWriter(level int) *pooledWriter {
	if w, ok := deflateWriterPools[level-flate.HuffmanOnly].Get().(*pooledWriter); ok {
		// Reset drops the LZ77 history. At HuffmanOnly there is none (and
		// such writers never serve context takeover), while Reset would
		// clear 640 KB of unused hash tables, so it is skipped.
		if level != flate.HuffmanOnly {
			w.fw.Reset(&w.sink)
		}
		return w
	}
	w := &pooledWriter{}
	fw, err := flate.NewWriter(&w.sink, level)
	if err != nil { // unreachable: level is normalized
		panic(fmt.Sprintf("websocket: flate level %d: %v", level, err))
	}
	w.fw = fw
	return w
}

func putDeflateWriter(level int, w *pooledWriter) {
	w.sink.b = nil // do not keep the caller's buffer alive
	deflateWriterPools[level-flate.HuffmanOnly].Put(w)
}

// compressor compresses outgoing messages for one connection (RFC 7692
// §7.2.1). Without context takeover, or at flate.HuffmanOnly, it keeps no
// state between messages and compress is safe for concurrent use. With
// context takeover it must be used by one goroutine, and every output must
// be sent, in the order produced.
type compressor struct {
	level    int
	takeover bool
	// smallWindow: the peer allows less than a 32 KiB window, so level is
	// flate.HuffmanOnly.
	smallWindow bool
	w           *pooledWriter // takeover only; taken on first use
}

// newCompressor returns the compressor for the direction this endpoint
// sends: a server compresses under the server_* params, a client under the
// client_* params. A window below 15 bits makes it use flate.HuffmanOnly
// (compress/flate always uses a 32 KiB window; Huffman-only output has no
// back-references, so it is valid for any window). level is a
// DeflateConfig.Level.
func newCompressor(p deflateParams, isServer bool, level int) *compressor {
	noTakeover, bits := p.clientNoContextTakeover, p.clientMaxWindowBits
	if isServer {
		noTakeover, bits = p.serverNoContextTakeover, p.serverMaxWindowBits
	}
	c := &compressor{level: normalizeDeflateLevel(level)}
	if bits != 0 && bits < 15 {
		c.level, c.smallWindow = flate.HuffmanOnly, true
	}
	c.takeover = !noTakeover && c.level != flate.HuffmanOnly
	return c
}

// shareable reports whether a message compressed once by any shareable
// compressor may be sent as is on this connection, and this compressor's
// output on any such connection: c keeps no state between messages, so its
// peer expects nothing from earlier messages, and the peer accepts a full
// 32 KiB window. The level does not matter: every level's output is valid
// DEFLATE for such a peer.
func (c *compressor) shareable() bool { return !c.takeover && !c.smallWindow }

// compress appends the RFC 7692 §7.2.1 payload for the message payload to
// dst: DEFLATE data ending in a sync flush, without its final 00 00 ff ff.
// An empty payload gives a single 0x00 byte (§7.2.3.6).
func (c *compressor) compress(dst, payload []byte) []byte {
	w := c.w
	if w == nil {
		w = getDeflateWriter(c.level)
		if c.takeover {
			c.w = w
		} else {
			defer putDeflateWriter(c.level, w)
		}
	}
	start := len(dst)
	w.sink.b = dst
	// Writing to a deflateSink cannot fail, so neither can Write or Flush.
	_, _ = w.fw.Write(payload)
	_ = w.fw.Flush()
	dst, w.sink.b = w.sink.b, nil
	if n := len(dst); n-start >= 4 && string(dst[n-4:]) == deflateTail[:4] {
		dst = dst[:n-4]
	}
	return dst
}

// release returns c's writer to the pool. A compressor used after release
// starts a fresh window, which any peer can still inflate.
func (c *compressor) release() {
	if c.w != nil {
		putDeflateWriter(c.level, c.w)
		c.w = nil
	}
}

// deflateSource reads a payload followed by deflateTail. It is an
// io.ByteReader, so flate reads it directly, without a bufio.Reader, and
// never past the end of the stream it is inflating: pos is exact.
type deflateSource struct {
	payload []byte
	pos     int // over payload then deflateTail
}

func (s *deflateSource) ReadByte() (byte, error) {
	switch {
	case s.pos < len(s.payload):
		s.pos++
		return s.payload[s.pos-1], nil
	case s.pos < len(s.payload)+len(deflateTail):
		s.pos++
		return deflateTail[s.pos-1-len(s.payload)], nil
	}
	return 0, io.EOF
}

func (s *deflateSource) Read(p []byte) (int, error) {
	n := 0
	if s.pos < len(s.payload) {
		n = copy(p, s.payload[s.pos:])
		s.pos += n
	}
	if t := s.pos - len(s.payload); t >= 0 && n < len(p) {
		m := copy(p[n:], deflateTail[t:])
		s.pos += m
		n += m
	}
	if n == 0 && len(p) > 0 {
		return 0, io.EOF
	}
	return n, nil
}

// inflater is a flate reader bound to its source.
type inflater struct {
	src deflateSource
	fr  io.ReadCloser // also a flate.Resetter
}

// deflateReaderPool holds idle inflaters.
var deflateReaderPool sync.Pool

func getInflater() *inflater {
	if f, ok := deflateReaderPool.Get().(*inflater); ok {
		return f
	}
	f := &inflater{}
	f.fr = flate.NewReader(&f.src)
	return f
}

func putInflater(f *inflater) {
	f.src.payload = nil
	deflateReaderPool.Put(f)
}

// decompressor inflates incoming messages for one connection (RFC 7692
// §7.2.2). Without context takeover it keeps no state and is safe for
// concurrent use; with context takeover it keeps the last 32 KiB of output
// as the next message's dictionary and must be used by one goroutine.
type decompressor struct {
	takeover bool
	f        *inflater // takeover only; taken on first use
	hist     []byte    // takeover only: the last deflateWindow bytes of output
}

// newDecompressor returns the decompressor for the direction this endpoint
// receives: a server inflates the client's stream, governed by
// client_no_context_takeover, and a client the server's. It always inflates
// with a 32 KiB window, which reads a stream made with any window size.
func newDecompressor(p deflateParams, isServer bool) *decompressor {
	noTakeover := p.serverNoContextTakeover
	if isServer {
		noTakeover = p.clientNoContextTakeover
	}
	return &decompressor{takeover: !noTakeover}
}

// deflateMaxStreams bounds how many DEFLATE streams one message of n bytes
// may hold. A sender may end a flush with a BFINAL block (RFC 7692
// §7.2.3.4) and carry on in a new stream; each new stream costs a reset
// that copies up to 32 KiB of window, so tiny streams must not be allowed to
// multiply that work.
func deflateMaxStreams(n int) int { return 16 + n/512 }

// decompress appends the inflated form of payload, the compressed data of
// one whole message, to dst. It fails with errDeflateTooBig as soon as the
// output passes limit bytes (limit <= 0 means no limit), never inflating
// more than limit+1 bytes, and with an error wrapping errDeflateCorrupt for
// invalid data. On error dst is returned with its original length, and a
// decompressor with context takeover must not be used again.
//
// The payload may hold several DEFLATE streams, each ended by a BFINAL
// block; each is inflated with the window of all output before it. An empty
// payload, which no compressor produces, is read as an empty message.
func (d *decompressor) decompress(dst, payload []byte, limit int64) ([]byte, error) {
	if len(payload) == 0 {
		return dst, nil
	}
	f := d.f
	if f == nil {
		f = getInflater()
		if d.takeover {
			d.f = f
		} else {
			defer putInflater(f)
		}
	}
	start := len(dst)
	f.src = deflateSource{payload: payload}
	if err := f.fr.(flate.Resetter).Reset(&f.src, d.hist); err != nil {
		return dst[:start], fmt.Errorf("%w: %w", errDeflateCorrupt, err)
	}
	for streams := 1; ; streams++ {
		var err error
		dst, err = inflateAppend(dst, start, f.fr, limit, len(payload))
		if err != nil {
			return dst[:start], err
		}
		if f.src.pos >= len(payload) {
			break
		}
		// A BFINAL block ended the stream before the payload did.
		if streams == deflateMaxStreams(len(payload)) {
			return dst[:start], fmt.Errorf("%w: more than %d DEFLATE streams in one message", errDeflateCorrupt, streams)
		}
		dict := deflateJoinWindow(d.hist, dst[start:])
		if err := f.fr.(flate.Resetter).Reset(&f.src, dict); err != nil {
			return dst[:start], fmt.Errorf("%w: %w", errDeflateCorrupt, err)
		}
	}
	if d.takeover {
		d.remember(dst[start:])
	}
	return dst, nil
}

// inflateAppend reads r to io.EOF, appending to dst; the message output so
// far is dst[start:]. sizeHint is the compressed size.
func inflateAppend(dst []byte, start int, r io.Reader, limit int64, sizeHint int) ([]byte, error) {
	for {
		out := len(dst) - start
		if len(dst) == cap(dst) {
			grow := max(out, sizeHint, 512)
			if limit > 0 && int64(grow) > limit-int64(out) {
				grow = int(limit-int64(out)) + 1
			}
			dst = slices.Grow(dst, grow)
		}
		buf := dst[len(dst):cap(dst)]
		if rem := limit - int64(out); limit > 0 && int64(len(buf)) > rem {
			buf = buf[:rem+1]
		}
		n, err := r.Read(buf)
		dst = dst[:len(dst)+n]
		if limit > 0 && int64(len(dst)-start) > limit {
			return dst, errDeflateTooBig
		}
		switch err {
		case nil:
		case io.EOF:
			return dst, nil
		default:
			return dst, fmt.Errorf("%w: %w", errDeflateCorrupt, err)
		}
	}
}

// deflateJoinWindow returns the last deflateWindow bytes of hist followed by
// out, in a new slice unless out alone fills the window.
func deflateJoinWindow(hist, out []byte) []byte {
	if len(out) >= deflateWindow {
		return out[len(out)-deflateWindow:]
	}
	keep := min(len(hist), deflateWindow-len(out))
	w := make([]byte, 0, keep+len(out))
	w = append(w, hist[len(hist)-keep:]...)
	return append(w, out...)
}

// remember slides the window kept for context takeover over out.
func (d *decompressor) remember(out []byte) {
	if d.hist == nil {
		d.hist = make([]byte, 0, deflateWindow)
	}
	if len(out) >= deflateWindow {
		d.hist = append(d.hist[:0], out[len(out)-deflateWindow:]...)
		return
	}
	if keep := deflateWindow - len(out); len(d.hist) > keep {
		d.hist = d.hist[:copy(d.hist, d.hist[len(d.hist)-keep:])]
	}
	d.hist = append(d.hist, out...)
}

// release returns d's reader to the pool and drops its window. A
// decompressor with context takeover must not be used after release.
func (d *decompressor) release() {
	if d.f != nil {
		putInflater(d.f)
		d.f = nil
	}
	d.hist = nil
}
