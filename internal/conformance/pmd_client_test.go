package conformance

import (
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// This file is the suite's own permessage-deflate (RFC 7692): parsing the
// server's answer, compressing client messages and inflating the server's.

// pmdParams is a permessage-deflate answer.
type pmdParams struct {
	serverNoTakeover bool
	clientNoTakeover bool
	serverMaxBits    int // 0 when absent
	clientMaxBits    int // 0 when absent
}

// extElement is one element of a Sec-WebSocket-Extensions value.
type extElement struct {
	name   string
	params []string // "name" or "name=value", as sent
}

// splitExtensions parses header values into elements, loosely: the suite
// only reads what the server sends, and checks its parameters below.
func splitExtensions(values []string) []extElement {
	var out []extElement
	for _, v := range values {
		for _, el := range strings.Split(v, ",") {
			parts := strings.Split(el, ";")
			e := extElement{name: strings.TrimSpace(parts[0])}
			for _, p := range parts[1:] {
				name, val, ok := strings.Cut(p, "=")
				p = strings.TrimSpace(name)
				if ok {
					p += "=" + strings.Trim(strings.TrimSpace(val), `"`)
				}
				e.params = append(e.params, p)
			}
			out = append(out, e)
		}
	}
	return out
}

// normalizeExtensions gives a comparable form of header values: names and
// parameters lower-cased and trimmed, parameters sorted, quotes dropped.
func normalizeExtensions(values []string) string {
	var els []string
	for _, e := range splitExtensions(values) {
		ps := make([]string, len(e.params))
		for i, p := range e.params {
			ps[i] = strings.ToLower(p)
		}
		slices.Sort(ps)
		els = append(els, strings.Join(append([]string{strings.ToLower(e.name)}, ps...), "; "))
	}
	return strings.Join(els, ", ")
}

// parsePMDAnswer checks a server's Sec-WebSocket-Extensions against RFC 7692
// §5 and §7.1: exactly one permessage-deflate element, known parameters at
// most once, window bits 8-15.
func parsePMDAnswer(values []string) (pmdParams, error) {
	var p pmdParams
	els := splitExtensions(values)
	if len(els) != 1 || !strings.EqualFold(els[0].name, "permessage-deflate") {
		return p, fmt.Errorf("extension answer %q is not one permessage-deflate element (RFC 7692 §5)", values)
	}
	seen := map[string]bool{}
	for _, prm := range els[0].params {
		name, val, hasVal := strings.Cut(strings.ToLower(prm), "=")
		if seen[name] {
			return p, fmt.Errorf("parameter %s twice in %q (RFC 7692 §7.1)", name, values)
		}
		seen[name] = true
		bits := func() (int, error) {
			n, err := strconv.Atoi(val)
			if !hasVal || err != nil || n < 8 || n > 15 {
				return 0, fmt.Errorf("parameter %q needs a value 8-15 (RFC 7692 §7.1.2)", prm)
			}
			return n, nil
		}
		var err error
		switch name {
		case "server_no_context_takeover":
			p.serverNoTakeover = true
		case "client_no_context_takeover":
			p.clientNoTakeover = true
		case "server_max_window_bits":
			p.serverMaxBits, err = bits()
		case "client_max_window_bits":
			p.clientMaxBits, err = bits()
		default:
			err = fmt.Errorf("unknown parameter %q in the answer (RFC 7692 §7.1)", prm)
		}
		if err != nil {
			return p, err
		}
		if (name == "server_no_context_takeover" || name == "client_no_context_takeover") && hasVal {
			return p, fmt.Errorf("parameter %q takes no value (RFC 7692 §7.1.1)", prm)
		}
	}
	return p, nil
}

// pmdState is a connection's negotiated compression.
type pmdState struct {
	params pmdParams
	out    *deflater
	in     *inflater
}

func newPMDState(p pmdParams, clientTakeover bool) *pmdState {
	return &pmdState{
		params: p,
		out:    &deflater{takeover: clientTakeover && !p.clientNoTakeover},
		in:     &inflater{takeover: !p.serverNoTakeover},
	}
}

// deflater compresses client messages (RFC 7692 §7.2.1): DEFLATE, a sync
// flush, and the trailing 00 00 ff ff removed. With takeover it keeps one
// writer, so each message may refer to the ones before.
type deflater struct {
	takeover bool
	fast     bool // flate.BestSpeed rather than flate.BestCompression
	buf      bytes.Buffer
	fw       *flate.Writer
}

var syncTail = []byte{0x00, 0x00, 0xff, 0xff}

func (d *deflater) compress(p []byte) []byte {
	d.buf.Reset()
	switch {
	case d.fw == nil:
		level := flate.BestCompression
		if d.fast {
			level = flate.BestSpeed
		}
		d.fw, _ = flate.NewWriter(&d.buf, level) // the level is valid: no error
	case !d.takeover:
		d.fw.Reset(&d.buf)
	}
	_, _ = d.fw.Write(p) // a bytes.Buffer does not fail
	_ = d.fw.Flush()
	out := bytes.Clone(d.buf.Bytes())
	return bytes.TrimSuffix(out, syncTail)
}

// compressRaw compresses p on its own, for tables.
func compressRaw(p []byte) []byte { return (&deflater{}).compress(p) }

// inflater inflates server messages (RFC 7692 §7.2.2): append 00 00 ff ff,
// then an empty final block so that the reader ends cleanly. With takeover
// the last 32 KiB of output are the next message's dictionary.
type inflater struct {
	takeover bool
	hist     []byte
}

var inflateTail = []byte{0x00, 0x00, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff}

// maxInflate bounds a server message after inflation.
const maxInflate = 16 << 20

func (i *inflater) inflate(p []byte) ([]byte, error) {
	src := io.MultiReader(bytes.NewReader(p), bytes.NewReader(inflateTail))
	var r io.ReadCloser
	if i.takeover {
		r = flate.NewReaderDict(src, i.hist)
	} else {
		r = flate.NewReader(src)
	}
	out, err := io.ReadAll(io.LimitReader(r, maxInflate+1))
	if err != nil {
		return nil, err
	}
	if len(out) > maxInflate {
		return nil, errors.New("inflates past the suite's 16 MiB bound")
	}
	if i.takeover {
		i.hist = append(i.hist, out...)
		if n := len(i.hist); n > 32<<10 {
			i.hist = slices.Clone(i.hist[n-32<<10:])
		}
	}
	return out, nil
}

// deflatedFrames compresses payload with d and cuts the result into frames
// of at most size bytes, RSV1 on the first only (RFC 7692 §6.1).
func deflatedFrames(d *deflater, op byte, payload []byte, size int) [][]byte {
	z := d.compress(payload)
	frames := fragmentsSpec(op, z, size)
	out := make([][]byte, len(frames))
	for i, f := range frames {
		if i == 0 {
			f.rsv = rsv1
		}
		out[i] = f.encode()
	}
	return out
}

// fragmentsSpec is fragments without encoding.
func fragmentsSpec(op byte, payload []byte, size int) []frameSpec {
	var out []frameSpec
	for first := true; first || len(payload) > 0; first = false {
		n := min(size, len(payload))
		fop := op
		if !first {
			fop = opCont
		}
		out = append(out, frameSpec{op: fop, notFin: n != len(payload), payload: payload[:n]})
		payload = payload[n:]
	}
	return out
}
