package websocket

import (
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
)

// deflateModes are negotiated configurations, as a server and a client
// would each hold them.
var deflateModes = []struct {
	name string
	p    deflateParams
}{
	{"no-takeover", deflateParams{serverNoContextTakeover: true, clientNoContextTakeover: true}},
	{"takeover", deflateParams{}},
	{"server-takeover-only", deflateParams{clientNoContextTakeover: true}},
	{"small-windows", deflateParams{serverMaxWindowBits: 9, clientMaxWindowBits: 10}},
	{"small-windows-no-takeover", deflateParams{serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 8, clientMaxWindowBits: 8}},
}

func randomBytes(seed uint64, n int) []byte {
	b := make([]byte, n)
	r := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)})
	_, _ = r.Read(b)
	return b
}

// repetitiveBytes is text-like data with plenty of matches, varied by seed.
func repetitiveBytes(seed uint64, n int) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, `{"seq":%d,"room":"lobby-%d","body":"hello, switchboard"},`, i, seed)
	}
	return b.Bytes()[:n]
}

// inflateRef decodes a permessage-deflate payload with plain compress/flate,
// independently of decompressor.
func inflateRef(t testing.TB, payload, dict []byte) []byte {
	t.Helper()
	r := flate.NewReaderDict(io.MultiReader(bytes.NewReader(payload), bytes.NewReader([]byte(deflateTail))), dict)
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("reference inflate: %v", err)
	}
	return out
}

func TestDeflateRoundTrip(t *testing.T) {
	sizes := []int{0, 1, 125, 126, 65535, 65536, 1 << 20}
	if testing.Short() {
		sizes = sizes[:len(sizes)-1]
	}
	kinds := []struct {
		name string
		gen  func(seed uint64, n int) []byte
	}{{"random", randomBytes}, {"repetitive", repetitiveBytes}}
	for _, mode := range deflateModes {
		for _, kind := range kinds {
			t.Run(mode.name+"/"+kind.name, func(t *testing.T) {
				for _, dir := range []struct {
					name     string
					isServer bool
				}{{"server-to-client", true}, {"client-to-server", false}} {
					comp := newCompressor(mode.p, dir.isServer, 0)
					decomp := newDecompressor(mode.p, !dir.isServer)
					defer comp.release()
					defer decomp.release()
					// Every size, then every size again: the second pass
					// finds the first in the window when it is kept.
					for pass := range 2 {
						for _, n := range sizes {
							msg := kind.gen(uint64(n), n)
							wire := comp.compress(nil, msg)
							if len(wire) == 0 {
								t.Fatalf("%s pass %d size %d: empty payload", dir.name, pass, n)
							}
							got, err := decomp.decompress([]byte("prefix"), wire, 1<<20)
							if err != nil {
								t.Fatalf("%s pass %d size %d: %v", dir.name, pass, n, err)
							}
							if !bytes.Equal(got[:6], []byte("prefix")) || !bytes.Equal(got[6:], msg) {
								t.Fatalf("%s pass %d size %d: round trip differs (got %d bytes)", dir.name, pass, n, len(got)-6)
							}
						}
					}
				}
			})
		}
	}
}

// TestDeflateStandardStream checks stateless output against plain
// compress/flate, and that we inflate what a plain flate.Writer makes.
func TestDeflateStandardStream(t *testing.T) {
	msg := repetitiveBytes(1, 5000)
	for _, level := range []int{flate.HuffmanOnly, flate.DefaultCompression, 0, flate.BestSpeed, 5, flate.BestCompression, 42, -3} {
		comp := newCompressor(deflateParams{serverNoContextTakeover: true}, true, level)
		wire := comp.compress(nil, msg)
		if got := inflateRef(t, wire, nil); !bytes.Equal(got, msg) {
			t.Fatalf("level %d: plain flate reads a different message", level)
		}

		var buf bytes.Buffer
		fw, err := flate.NewWriter(&buf, normalizeDeflateLevel(level))
		if err != nil {
			t.Fatal(err)
		}
		_, _ = fw.Write(msg)
		_ = fw.Flush()
		payload := bytes.TrimSuffix(buf.Bytes(), []byte{0, 0, 0xff, 0xff})
		got, err := newDecompressor(deflateParams{}, true).decompress(nil, payload, 0)
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("level %d: inflating flate.Writer output: %v", level, err)
		}
	}
}

func TestDeflateEmptyMessage(t *testing.T) {
	for _, mode := range deflateModes {
		comp := newCompressor(mode.p, true, 0)
		for i := range 3 {
			if got := comp.compress(nil, nil); !bytes.Equal(got, []byte{0}) {
				t.Errorf("%s message %d: compress(empty) = % x, want 00", mode.name, i, got)
			}
		}
		comp.release()
	}
	d := newDecompressor(deflateParams{}, true)
	for _, payload := range [][]byte{{0x00}, {}, {0x02, 0x00}, {0x03, 0x00}} {
		got, err := d.decompress(nil, payload, 10)
		if err != nil || len(got) != 0 {
			t.Errorf("decompress(% x) = %q, %v; want empty", payload, got, err)
		}
	}
}

// RFC 7692 §7.2.3 examples, all "Hello".
func TestDeflateRFCExamples(t *testing.T) {
	for _, tt := range []struct {
		name    string
		payload []byte
	}{
		{"7.2.3.1 one compressed block", []byte{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}},
		{"7.2.3.3 no compression", []byte{0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00}},
		{"7.2.3.4 BFINAL set", []byte{0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00}},
		{"7.2.3.5 two blocks", []byte{0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00}},
	} {
		for _, mode := range deflateModes {
			d := newDecompressor(mode.p, true)
			for i := range 3 { // a decompressor stays usable after each
				got, err := d.decompress(nil, tt.payload, 5)
				if err != nil || string(got) != "Hello" {
					t.Errorf("%s, %s, message %d: got %q, %v", tt.name, mode.name, i, got, err)
				}
			}
		}
	}
}

// TestDeflateSharedWindowExample is RFC 7692 §7.2.3.2: the second "Hello"
// is a back-reference into the first message.
func TestDeflateSharedWindowExample(t *testing.T) {
	first := []byte{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}
	second := []byte{0xf2, 0x00, 0x11, 0x00, 0x00}
	d := newDecompressor(deflateParams{}, true)
	defer d.release()
	for i, payload := range [][]byte{first, second, second} {
		got, err := d.decompress(nil, payload, 100)
		if err != nil || string(got) != "Hello" {
			t.Fatalf("message %d: got %q, %v", i, got, err)
		}
	}
	// Without context takeover the back-reference points before the start.
	nd := newDecompressor(deflateParams{clientNoContextTakeover: true}, true)
	if _, err := nd.decompress(nil, first, 100); err != nil {
		t.Fatal(err)
	}
	if got, err := nd.decompress(nil, second, 100); !errors.Is(err, errDeflateCorrupt) {
		t.Fatalf("no takeover: second message = %q, %v; want errDeflateCorrupt", got, err)
	}

	// Our own compressor with takeover produces such references too.
	c := newCompressor(deflateParams{}, true, 0)
	defer c.release()
	msg := randomBytes(7, 2000) // incompressible alone, not twice
	m1, m2 := c.compress(nil, msg), c.compress(nil, msg)
	if len(m2)*4 > len(m1) {
		t.Errorf("takeover: repeated message compressed to %d bytes, first %d", len(m2), len(m1))
	}
	if got := inflateRef(t, m2, msg); !bytes.Equal(got, msg) {
		t.Error("takeover: second message does not inflate with the first as dictionary")
	}
}

// TestDeflateStreamsInOneMessage: after a BFINAL block a sender may start a
// new DEFLATE stream in the same message, referring back to earlier output.
func TestDeflateStreamsInOneMessage(t *testing.T) {
	// part1 below and above the 32 KiB window.
	for _, n := range []int{3000, 40000} {
		part1, part2 := repetitiveBytes(1, n), repetitiveBytes(1, 3000)[:2000]
		var buf bytes.Buffer
		w1, _ := flate.NewWriter(&buf, flate.BestCompression)
		_, _ = w1.Write(part1)
		_ = w1.Close() // ends with a BFINAL block
		w2, _ := flate.NewWriterDict(&buf, flate.BestCompression, part1)
		_, _ = w2.Write(part2)
		_ = w2.Flush()
		payload := bytes.TrimSuffix(buf.Bytes(), []byte{0, 0, 0xff, 0xff})
		want := append(append([]byte{}, part1...), part2...)
		for _, mode := range deflateModes {
			d := newDecompressor(mode.p, true)
			for i := range 2 {
				got, err := d.decompress(nil, payload, 0)
				if err != nil || !bytes.Equal(got, want) {
					t.Errorf("%d+%d bytes, %s, message %d: got %d bytes, %v", n, len(part2), mode.name, i, len(got), err)
				}
			}
		}
	}

	// Thousands of tiny streams: refused rather than reset thousands of times.
	many := bytes.Repeat([]byte{0x03, 0x00}, 4096)
	_, err := newDecompressor(deflateParams{}, true).decompress(nil, many, 0)
	if !errors.Is(err, errDeflateCorrupt) {
		t.Fatalf("4096 streams: %v, want errDeflateCorrupt", err)
	}
	if _, err := newDecompressor(deflateParams{}, true).decompress(nil, many[:16], 0); err != nil {
		t.Fatalf("8 streams: %v", err)
	}
}

func TestDeflateLimit(t *testing.T) {
	const limit = 1 << 20
	bomb := newCompressor(deflateParams{serverNoContextTakeover: true}, true, flate.BestCompression).
		compress(nil, make([]byte, 10<<20))
	for _, mode := range deflateModes {
		d := newDecompressor(mode.p, true)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		got, err := d.decompress(nil, bomb, limit)
		runtime.ReadMemStats(&after)
		if !errors.Is(err, errDeflateTooBig) || len(got) != 0 {
			t.Fatalf("%s: %d-byte bomb: got %d bytes, %v; want errDeflateTooBig", mode.name, len(bomb), len(got), err)
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4*limit {
			t.Errorf("%s: allocated %d bytes for a %d-byte limit", mode.name, alloc, limit)
		}
	}

	// The boundary: exactly limit bytes pass, one more fails.
	msg := repetitiveBytes(3, 1000)
	wire := newCompressor(deflateParams{serverNoContextTakeover: true}, true, 0).compress(nil, msg)
	d := newDecompressor(deflateParams{serverNoContextTakeover: true}, false)
	if got, err := d.decompress(nil, wire, 1000); err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("limit = size: %v", err)
	}
	if _, err := d.decompress(nil, wire, 999); !errors.Is(err, errDeflateTooBig) {
		t.Fatalf("limit = size-1: %v, want errDeflateTooBig", err)
	}
	// The limit counts this message only, not what dst already holds.
	dst := make([]byte, 5000)
	if got, err := d.decompress(dst, wire, 1000); err != nil || !bytes.Equal(got[5000:], msg) {
		t.Fatalf("limit with a prefilled dst: %v", err)
	}
}

func TestDeflateCorrupt(t *testing.T) {
	good := newCompressor(deflateParams{serverNoContextTakeover: true}, true, 0).compress(nil, repetitiveBytes(2, 4000))
	for _, tt := range []struct {
		name    string
		payload []byte
	}{
		{"reserved block type", []byte{0x07, 0x00}},
		{"stored length mismatch", []byte{0x00, 0x05, 0x00, 0x00, 0x00, 'h'}},
		{"distance before start", []byte{0xf2, 0x00, 0x11, 0x00, 0x00}},
		{"all ones", bytes.Repeat([]byte{0xff}, 64)},
		{"truncated", good[:len(good)/2]},
		{"zlib header", []byte{0x78, 0x9c, 0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}},
	} {
		for _, mode := range deflateModes {
			got, err := newDecompressor(mode.p, true).decompress([]byte("keep"), tt.payload, 1<<20)
			if !errors.Is(err, errDeflateCorrupt) || string(got) != "keep" {
				t.Errorf("%s, %s: got %q, %v; want errDeflateCorrupt and dst unchanged", tt.name, mode.name, got, err)
			}
		}
	}
}

// TestDeflateSmallWindow: a window below 15 bits compresses without
// back-references, so highly repetitive data stays near a bit per byte.
func TestDeflateSmallWindow(t *testing.T) {
	msg := bytes.Repeat([]byte("a"), 64<<10)
	for _, tt := range []struct {
		p         deflateParams
		isServer  bool
		huffOnly  bool
		shareable bool
	}{
		{deflateParams{serverMaxWindowBits: 10}, true, true, false},
		{deflateParams{serverMaxWindowBits: 10}, false, false, false}, // client takeover
		{deflateParams{serverMaxWindowBits: 15, serverNoContextTakeover: true}, true, false, true},
		{deflateParams{clientMaxWindowBits: 8, clientNoContextTakeover: true}, false, true, false},
		{deflateParams{clientMaxWindowBits: 8, clientNoContextTakeover: true}, true, false, false}, // server takeover
		{deflateParams{serverNoContextTakeover: true, clientNoContextTakeover: true}, true, false, true},
	} {
		c := newCompressor(tt.p, tt.isServer, 0)
		wire := c.compress(nil, msg)
		if huff := len(wire) >= len(msg)/16; huff != tt.huffOnly {
			t.Errorf("%+v server=%v: %d bytes for 64 KiB of 'a', want Huffman-only %v", tt.p, tt.isServer, len(wire), tt.huffOnly)
		}
		if c.shareable() != tt.shareable {
			t.Errorf("%+v server=%v: shareable = %v", tt.p, tt.isServer, c.shareable())
		}
		if got := inflateRef(t, wire, nil); !bytes.Equal(got, msg) {
			t.Errorf("%+v server=%v: round trip differs", tt.p, tt.isServer)
		}
		c.release()
	}
}

// TestDeflateConcurrentStateless: one stateless compressor and decompressor
// serve many goroutines (run with -race), and give identical output.
func TestDeflateConcurrentStateless(t *testing.T) {
	p := deflateParams{serverNoContextTakeover: true, clientNoContextTakeover: true}
	for _, level := range []int{0, flate.HuffmanOnly, flate.BestCompression} {
		c := newCompressor(p, true, level)
		d := newDecompressor(p, false)
		msg := repetitiveBytes(4, 20000)
		want := c.compress(nil, msg)
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for g := range 8 {
			wg.Go(func() {
				for i := range 20 {
					wire := c.compress(nil, msg)
					if !bytes.Equal(wire, want) {
						errs <- fmt.Errorf("goroutine %d message %d: compressed form differs", g, i)
						return
					}
					got, err := d.decompress(nil, wire, 0)
					if err != nil || !bytes.Equal(got, msg) {
						errs <- fmt.Errorf("goroutine %d message %d: %v", g, i, err)
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("level %d: %v", level, err)
		}
	}
}

// TestDeflateRelease: pooled state comes back clean.
func TestDeflateRelease(t *testing.T) {
	msg := repetitiveBytes(5, 3000)
	for range 3 {
		c := newCompressor(deflateParams{}, true, 0)
		d := newDecompressor(deflateParams{}, false)
		for i := range 3 {
			got, err := d.decompress(nil, c.compress(nil, msg), 0)
			if err != nil || !bytes.Equal(got, msg) {
				t.Fatalf("message %d: %v", i, err)
			}
		}
		c.release()
		d.release()
		// A stateless pair now gets the released, reset writer and reader.
		s := newCompressor(deflateParams{serverNoContextTakeover: true}, true, 0)
		wire := s.compress(nil, msg)
		if got := inflateRef(t, wire, nil); !bytes.Equal(got, msg) {
			t.Fatal("stateless after release: output refers to old context")
		}
	}
}

func FuzzDecompress(f *testing.F) {
	f.Add([]byte{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00})
	f.Add([]byte{0xf2, 0x00, 0x11, 0x00, 0x00})
	f.Add([]byte{0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00})
	f.Add([]byte{0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00})
	f.Add([]byte{0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00})
	f.Add([]byte{0x00})
	f.Add([]byte{0x03, 0x00, 0x03, 0x00})
	f.Add(newCompressor(deflateParams{}, true, 9).compress(nil, repetitiveBytes(6, 300)))
	f.Add(newCompressor(deflateParams{}, true, 9).compress(nil, make([]byte, 100000)))
	const limit = 64 << 10
	f.Fuzz(func(t *testing.T, data []byte) {
		// As compressed input: never a panic, never more than limit.
		for _, mode := range deflateModes[:2] {
			d := newDecompressor(mode.p, true)
			for range 2 {
				got, err := d.decompress([]byte("x"), data, limit)
				if err != nil {
					if !errors.Is(err, errDeflateCorrupt) && !errors.Is(err, errDeflateTooBig) {
						t.Fatalf("%s: unexpected error %v", mode.name, err)
					}
					if string(got) != "x" {
						t.Fatalf("%s: dst changed on error", mode.name)
					}
					break
				}
				if len(got)-1 > limit {
					t.Fatalf("%s: %d bytes past a %d limit", mode.name, len(got)-1, limit)
				}
			}
			d.release()
		}
		// As a message: compress, decompress, twice per mode.
		for _, mode := range deflateModes {
			c := newCompressor(mode.p, true, 0)
			d := newDecompressor(mode.p, false)
			for i := range 2 {
				got, err := d.decompress(nil, c.compress(nil, data), 0)
				if err != nil || !bytes.Equal(got, data) {
					t.Fatalf("%s message %d: round trip: %v", mode.name, i, err)
				}
			}
			c.release()
			d.release()
		}
	})
}

func BenchmarkDeflateCompress(b *testing.B) {
	for _, n := range []int{128, 4 << 10, 64 << 10} {
		msg := repetitiveBytes(1, n)
		for _, mode := range deflateModes[:2] {
			b.Run(fmt.Sprintf("%s/%d", mode.name, n), func(b *testing.B) {
				c := newCompressor(mode.p, true, 0)
				defer c.release()
				b.SetBytes(int64(n))
				b.ReportAllocs()
				var dst []byte
				for b.Loop() {
					dst = c.compress(dst[:0], msg)
				}
				b.ReportMetric(float64(len(dst))/float64(n), "ratio")
			})
		}
	}
}

func BenchmarkDeflateDecompress(b *testing.B) {
	for _, n := range []int{128, 4 << 10, 64 << 10} {
		msg := repetitiveBytes(1, n)
		for _, mode := range deflateModes[:2] {
			b.Run(fmt.Sprintf("%s/%d", mode.name, n), func(b *testing.B) {
				// Every message is compressed by a fresh stream, which the
				// takeover decompressor reads as well.
				wire := newCompressor(deflateParams{serverNoContextTakeover: true}, true, 0).compress(nil, msg)
				d := newDecompressor(mode.p, false)
				defer d.release()
				b.SetBytes(int64(n))
				b.ReportAllocs()
				var dst []byte
				for b.Loop() {
					var err error
					if dst, err = d.decompress(dst[:0], wire, 0); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
