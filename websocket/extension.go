package websocket

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// This file parses Sec-WebSocket-Extensions (RFC 6455 §9.1) and negotiates
// permessage-deflate (RFC 7692 §5, §7.1) on both sides of the handshake.
// Compression itself lives in deflate.go.

var (
	// errBadExtensionHeader means a Sec-WebSocket-Extensions value does not
	// follow the RFC 6455 §9.1 grammar.
	errBadExtensionHeader = errors.New("websocket: malformed Sec-WebSocket-Extensions header")
	// errDeflateNegotiation means a server's permessage-deflate response is
	// not one this client can accept (RFC 7692 §5); the client fails the
	// WebSocket connection.
	errDeflateNegotiation = errors.New("websocket: unacceptable permessage-deflate response")
)

// extensionParam is one extension parameter: a token name with an optional
// value, already unquoted when it was a quoted-string.
type extensionParam struct {
	name     string
	value    string
	hasValue bool
}

// extensionOffer is one element of an extension list: the extension's name
// and its parameters in the order sent.
type extensionOffer struct {
	name   string
	params []extensionParam
}

// parseExtensions parses every Sec-WebSocket-Extensions header value into
// one list of extensions, in order. Each value may hold several
// comma-separated elements. The grammar is RFC 6455 §9.1 with the list and
// whitespace rules of RFC 7230 §7 and §3.2.6:
//
//	extension-list = 1#extension
//	extension      = token *( OWS ";" OWS extension-param )
//	extension-param = token [ OWS "=" OWS ( token / quoted-string ) ]
//
// Empty list elements are ignored (RFC 7230 §7). A quoted value must be a
// token once unescaped (RFC 6455 §9.1). Anything else is an error wrapping
// errBadExtensionHeader; names are returned as sent, compare them with
// strings.EqualFold.
func parseExtensions(values []string) ([]extensionOffer, error) {
	var offers []extensionOffer
	for i, v := range values {
		p := extParser{s: v}
		var err error
		if offers, err = p.list(offers); err != nil {
			return nil, fmt.Errorf("%w: header value %d: %w", errBadExtensionHeader, i, err)
		}
	}
	return offers, nil
}

// extParser walks one header value.
type extParser struct {
	s string
	i int
}

func (p *extParser) errorf(format string, args ...any) error {
	return fmt.Errorf("offset %d: "+format, append([]any{p.i}, args...)...)
}

func (p *extParser) skipOWS() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

func (p *extParser) token() string {
	start := p.i
	for p.i < len(p.s) && extIsTchar(p.s[p.i]) {
		p.i++
	}
	return p.s[start:p.i]
}

// list appends the elements of p.s to offers.
func (p *extParser) list(offers []extensionOffer) ([]extensionOffer, error) {
	for {
		p.skipOWS()
		if p.i == len(p.s) {
			return offers, nil
		}
		if p.s[p.i] == ',' { // empty element
			p.i++
			continue
		}
		name := p.token()
		if name == "" {
			return nil, p.errorf("expected an extension name, found %q", p.s[p.i])
		}
		offer := extensionOffer{name: name}
		for {
			p.skipOWS()
			if p.i == len(p.s) {
				break
			}
			if p.s[p.i] == ',' {
				p.i++
				break
			}
			if p.s[p.i] != ';' {
				return nil, p.errorf("expected ';' or ',', found %q", p.s[p.i])
			}
			p.i++
			param, err := p.param()
			if err != nil {
				return nil, err
			}
			offer.params = append(offer.params, param)
		}
		offers = append(offers, offer)
	}
}

// param parses one extension-param after its ';'.
func (p *extParser) param() (extensionParam, error) {
	p.skipOWS()
	name := p.token()
	if name == "" {
		return extensionParam{}, p.errorf("expected a parameter name")
	}
	p.skipOWS()
	if p.i == len(p.s) || p.s[p.i] != '=' {
		return extensionParam{name: name}, nil
	}
	p.i++
	p.skipOWS()
	var value string
	if p.i < len(p.s) && p.s[p.i] == '"' {
		v, err := p.quoted()
		if err != nil {
			return extensionParam{}, err
		}
		if !extIsToken(v) {
			return extensionParam{}, p.errorf("quoted value of %s is not a token", name)
		}
		value = v
	} else if value = p.token(); value == "" {
		return extensionParam{}, p.errorf("expected a value for %s", name)
	}
	return extensionParam{name: name, value: value, hasValue: true}, nil
}

// quoted parses a quoted-string (RFC 7230 §3.2.6) starting at its opening
// quote and returns it unescaped.
func (p *extParser) quoted() (string, error) {
	p.i++ // opening quote
	start := p.i
	var b []byte // nil until the first quoted-pair
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == '"':
			p.i++
			if b == nil {
				return p.s[start : p.i-1], nil
			}
			return string(b), nil
		case c == '\\':
			if p.i+1 == len(p.s) || !extIsQuotedPairChar(p.s[p.i+1]) {
				return "", p.errorf("bad quoted-pair")
			}
			if b == nil {
				b = append(b, p.s[start:p.i]...)
			}
			b = append(b, p.s[p.i+1])
			p.i += 2
		case extIsQdtext(c):
			if b != nil {
				b = append(b, c)
			}
			p.i++
		default:
			return "", p.errorf("control byte %#x in quoted-string", c)
		}
	}
	return "", p.errorf("unterminated quoted-string")
}

// extIsTchar reports whether c may appear in an RFC 7230 token.
func extIsTchar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

func extIsToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !extIsTchar(s[i]) {
			return false
		}
	}
	return true
}

// extIsQdtext: HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text.
func extIsQdtext(c byte) bool {
	return c == '\t' || c == ' ' || c == 0x21 || (0x23 <= c && c <= 0x5b) || (0x5d <= c && c != 0x7f)
}

// extIsQuotedPairChar: HTAB / SP / VCHAR / obs-text.
func extIsQuotedPairChar(c byte) bool {
	return c == '\t' || (0x20 <= c && c != 0x7f)
}

// The permessage-deflate extension and its parameters (RFC 7692 §7.1).
const (
	extPermessageDeflate       = "permessage-deflate"
	extServerNoContextTakeover = "server_no_context_takeover"
	extClientNoContextTakeover = "client_no_context_takeover"
	extServerMaxWindowBits     = "server_max_window_bits"
	extClientMaxWindowBits     = "client_max_window_bits"
)

// deflateParams is a negotiated permessage-deflate configuration. The
// server_* fields govern what the server compresses (and the client
// decompresses); the client_* fields the other direction.
type deflateParams struct {
	serverNoContextTakeover bool
	clientNoContextTakeover bool
	// serverMaxWindowBits is 8..15, or 0 when absent (a 15-bit window).
	serverMaxWindowBits int
	// clientMaxWindowBits is 8..15, or 0 when absent.
	clientMaxWindowBits int
}

// String formats p as a Sec-WebSocket-Extensions element.
func (p deflateParams) String() string {
	var b strings.Builder
	b.WriteString(extPermessageDeflate)
	if p.serverNoContextTakeover {
		b.WriteString("; " + extServerNoContextTakeover)
	}
	if p.clientNoContextTakeover {
		b.WriteString("; " + extClientNoContextTakeover)
	}
	if p.serverMaxWindowBits != 0 {
		b.WriteString("; " + extServerMaxWindowBits + "=" + strconv.Itoa(p.serverMaxWindowBits))
	}
	if p.clientMaxWindowBits != 0 {
		b.WriteString("; " + extClientMaxWindowBits + "=" + strconv.Itoa(p.clientMaxWindowBits))
	}
	return b.String()
}

// parseDeflateElement checks the parameters of one permessage-deflate
// element against RFC 7692 §7.1. inResponse selects the response rules:
// client_max_window_bits then needs a value (in an offer it may come bare,
// and is then left 0). An unknown or repeated parameter, a value where none
// is allowed, or a bad window size is an error.
func parseDeflateElement(params []extensionParam, inResponse bool) (deflateParams, error) {
	var o deflateParams
	seen := make(map[string]bool, len(params))
	for _, prm := range params {
		name := strings.ToLower(prm.name)
		if seen[name] {
			return o, fmt.Errorf("parameter %s given twice", prm.name)
		}
		seen[name] = true
		var bits *int
		switch name {
		case extServerNoContextTakeover:
			o.serverNoContextTakeover = true
		case extClientNoContextTakeover:
			o.clientNoContextTakeover = true
		case extServerMaxWindowBits:
			bits = &o.serverMaxWindowBits
		case extClientMaxWindowBits:
			if !prm.hasValue && !inResponse {
				continue // "I can limit my window if you ask" (§7.1.2.2)
			}
			bits = &o.clientMaxWindowBits
		default:
			return o, fmt.Errorf("unknown parameter %q", prm.name)
		}
		if bits == nil {
			if prm.hasValue {
				return o, fmt.Errorf("parameter %s takes no value", prm.name)
			}
			continue
		}
		v, ok := parseWindowBits(prm)
		if !ok {
			return o, fmt.Errorf("parameter %s needs a value from 8 to 15", prm.name)
		}
		*bits = v
	}
	return o, nil
}

// parseWindowBits parses an RFC 7692 §7.1.2 window size: a decimal integer
// from 8 to 15 without leading zeroes.
func parseWindowBits(prm extensionParam) (int, bool) {
	switch v := prm.value; {
	case !prm.hasValue:
		return 0, false
	case len(v) == 1 && '8' <= v[0] && v[0] <= '9':
		return int(v[0] - '0'), true
	case len(v) == 2 && v[0] == '1' && '0' <= v[1] && v[1] <= '5':
		return 10 + int(v[1]-'0'), true
	}
	return 0, false
}

// negotiateDeflate is the server side of RFC 7692 §5: it walks the
// permessage-deflate elements of the client's Sec-WebSocket-Extensions
// values in order and accepts the first acceptable one. An element with an
// unknown or repeated parameter or a bad value is declined and the next one
// tried; when none is acceptable, ok is false and no extension is used.
//
// On success p is what the connection runs with and response is the
// Sec-WebSocket-Extensions value to send:
//
//   - Without cfg.ContextTakeover it always carries server_no_context_takeover
//     and client_no_context_takeover, so neither side keeps a window between
//     messages (a client must honour client_no_context_takeover, §7.1.1.2).
//   - With cfg.ContextTakeover it echoes the no_context_takeover parameters the
//     client asked for and otherwise lets both sides keep their windows.
//   - A server_max_window_bits in the offer is accepted and echoed. The
//     compress/flate writer cannot shrink its 32 KiB window, so a value below
//     15 makes the server compress with flate.HuffmanOnly, which emits no
//     back-references and is therefore valid for any window size.
//   - client_max_window_bits is never sent back: the server inflates with a
//     full 32 KiB window, which reads a stream made with any smaller window,
//     and RFC 7692 §7.1.2.2 makes the parameter optional in the response.
//
// err is non-nil only when a header value is malformed (errBadExtensionHeader);
// ok is then false too. A disabled cfg declines without parsing.
func negotiateDeflate(headerValues []string, cfg DeflateConfig) (p deflateParams, response string, ok bool, err error) {
	if cfg.Disabled {
		return deflateParams{}, "", false, nil
	}
	offers, err := parseExtensions(headerValues)
	if err != nil {
		return deflateParams{}, "", false, err
	}
	for _, offer := range offers {
		if !strings.EqualFold(offer.name, extPermessageDeflate) {
			continue
		}
		o, err := parseDeflateElement(offer.params, false)
		if err != nil {
			continue // RFC 7692 §5: decline this offer, try the next one
		}
		p = deflateParams{
			serverNoContextTakeover: true,
			clientNoContextTakeover: true,
			serverMaxWindowBits:     o.serverMaxWindowBits,
		}
		if cfg.ContextTakeover {
			p.serverNoContextTakeover = o.serverNoContextTakeover
			p.clientNoContextTakeover = o.clientNoContextTakeover
		}
		return p, p.String(), true, nil
	}
	return deflateParams{}, "", false, nil
}

// deflateOffer is the client's Sec-WebSocket-Extensions value for cfg, or ""
// when cfg is disabled. It always offers client_max_window_bits (this
// client may be told to use a smaller window, RFC 7692 §7.1.2.2) and, unless
// cfg.ContextTakeover, asks both sides to drop their windows between
// messages.
func deflateOffer(cfg DeflateConfig) string {
	if cfg.Disabled {
		return ""
	}
	s := extPermessageDeflate + "; " + extClientMaxWindowBits
	if !cfg.ContextTakeover {
		s += "; " + extServerNoContextTakeover + "; " + extClientNoContextTakeover
	}
	return s
}

// parseDeflateResponse is the client side of RFC 7692 §5: it checks the
// Sec-WebSocket-Extensions values of a server's response, which the caller
// passes only when the server sent that header, against the offer made
// with deflateOffer(offered). The one acceptable answer is a single
// permessage-deflate element with valid parameters. No element at all (an
// empty header), any other extension, permessage-deflate twice, an unknown
// or repeated parameter, a bad value, or any extension when none was
// offered is an error wrapping errDeflateNegotiation (errBadExtensionHeader
// for a malformed value); the caller then fails the connection.
//
// The returned params are those this client runs under. They differ from
// the response in one way: unless offered.ContextTakeover, the client drops
// its own window after every message even if the server did not echo
// client_no_context_takeover, which any server must accept. A server that
// ignores our server_no_context_takeover is tolerated: we inflate with its
// window kept. client_max_window_bits is always offered, so the server may
// answer with it; it then needs a value.
func parseDeflateResponse(headerValues []string, offered DeflateConfig) (deflateParams, error) {
	exts, err := parseExtensions(headerValues)
	if err != nil {
		return deflateParams{}, err
	}
	switch {
	case len(exts) == 0:
		return deflateParams{}, fmt.Errorf("%w: empty extension list", errDeflateNegotiation)
	case len(exts) > 1:
		return deflateParams{}, fmt.Errorf("%w: server accepted %d extensions", errDeflateNegotiation, len(exts))
	case offered.Disabled || !strings.EqualFold(exts[0].name, extPermessageDeflate):
		return deflateParams{}, fmt.Errorf("%w: server accepted %q, which was not offered", errDeflateNegotiation, exts[0].name)
	}
	p, err := parseDeflateElement(exts[0].params, true)
	if err != nil {
		return deflateParams{}, fmt.Errorf("%w: %w", errDeflateNegotiation, err)
	}
	if !offered.ContextTakeover {
		p.clientNoContextTakeover = true
	}
	return p, nil
}
