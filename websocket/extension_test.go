package websocket

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseExtensions(t *testing.T) {
	type P = extensionParam
	type O = extensionOffer
	tests := []struct {
		name   string
		values []string
		want   []O
		bad    bool
	}{
		{name: "none", values: nil, want: nil},
		{name: "empty value", values: []string{""}, want: nil},
		{name: "only commas and OWS", values: []string{" , ,\t,"}, want: nil},
		{name: "bare", values: []string{"permessage-deflate"}, want: []O{{name: "permessage-deflate"}}},
		{name: "chromium", values: []string{"permessage-deflate; client_max_window_bits"},
			want: []O{{name: "permessage-deflate", params: []P{{name: "client_max_window_bits"}}}}},
		{name: "token value", values: []string{"x;a=10"},
			want: []O{{name: "x", params: []P{{name: "a", value: "10", hasValue: true}}}}},
		{name: "quoted value", values: []string{`permessage-deflate; client_max_window_bits="10"`},
			want: []O{{name: "permessage-deflate", params: []P{{name: "client_max_window_bits", value: "10", hasValue: true}}}}},
		{name: "quoted-pair", values: []string{`x; a="1\0"`},
			want: []O{{name: "x", params: []P{{name: "a", value: "10", hasValue: true}}}}},
		{name: "OWS everywhere", values: []string{" \tx \t; \ta \t= \t\"b\" \t; c ,\ty\t"},
			want: []O{{name: "x", params: []P{{name: "a", value: "b", hasValue: true}, {name: "c"}}}, {name: "y"}}},
		{name: "several offers and values", values: []string{"a; p, b", "c;q=1"},
			want: []O{{name: "a", params: []P{{name: "p"}}}, {name: "b"}, {name: "c", params: []P{{name: "q", value: "1", hasValue: true}}}}},
		{name: "empty elements ignored", values: []string{", a ,, b ,"}, want: []O{{name: "a"}, {name: "b"}}},
		{name: "comma inside quotes", values: []string{`a; p="x,y"`}, bad: true}, // not a token once unquoted
		{name: "name keeps case", values: []string{"PerMessage-Deflate; Client_Max_Window_Bits"},
			want: []O{{name: "PerMessage-Deflate", params: []P{{name: "Client_Max_Window_Bits"}}}}},
		{name: "leading semicolon", values: []string{"; a"}, bad: true},
		{name: "trailing semicolon", values: []string{"a;"}, bad: true},
		{name: "double semicolon", values: []string{"a;;b"}, bad: true},
		{name: "missing value", values: []string{"a; b="}, bad: true},
		{name: "missing value before comma", values: []string{"a; b=, c"}, bad: true},
		{name: "empty quoted value", values: []string{`a; b=""`}, bad: true},
		{name: "quoted space", values: []string{`a; b="1 0"`}, bad: true},
		{name: "unterminated quote", values: []string{`a; b="10`}, bad: true},
		{name: "escape at end", values: []string{`a; b="10\`}, bad: true},
		{name: "control in quote", values: []string{"a; b=\"1\x010\""}, bad: true},
		{name: "two names", values: []string{"a b"}, bad: true},
		{name: "separator in name", values: []string{"a/b"}, bad: true},
		{name: "value without name", values: []string{"a; =1"}, bad: true},
		{name: "two values", values: []string{"a; b=1=2"}, bad: true},
		{name: "quote then token", values: []string{`a; b="1"2`}, bad: true},
		{name: "second value bad", values: []string{"a", "b;"}, bad: true},
		{name: "NUL", values: []string{"a\x00"}, bad: true},
		{name: "non-ASCII", values: []string{"a; b=\xc3\xa9"}, bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseExtensions(tt.values)
			if tt.bad {
				if !errors.Is(err, errBadExtensionHeader) {
					t.Fatalf("parseExtensions(%q) = %+v, %v; want errBadExtensionHeader", tt.values, got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseExtensions(%q): %v", tt.values, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("parseExtensions(%q)\n got %+v\nwant %+v", tt.values, got, tt.want)
			}
		})
	}
}

const (
	respNoTakeover = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
	respTakeover   = "permessage-deflate"
)

func TestNegotiateDeflate(t *testing.T) {
	off := DeflateConfig{}
	on := DeflateConfig{ContextTakeover: true}
	noTO := deflateParams{serverNoContextTakeover: true, clientNoContextTakeover: true}
	tests := []struct {
		name   string
		values []string
		cfg    DeflateConfig
		ok     bool
		want   deflateParams
		resp   string
		bad    bool
	}{
		{name: "chromium", values: []string{"permessage-deflate; client_max_window_bits"}, cfg: off,
			ok: true, want: noTO, resp: respNoTakeover},
		{name: "chromium takeover", values: []string{"permessage-deflate; client_max_window_bits"}, cfg: on,
			ok: true, want: deflateParams{}, resp: respTakeover},
		{name: "firefox", values: []string{"permessage-deflate"}, cfg: off, ok: true, want: noTO, resp: respNoTakeover},
		{name: "firefox takeover", values: []string{"permessage-deflate"}, cfg: on, ok: true, resp: respTakeover},
		{name: "npm ws client", values: []string{"permessage-deflate; client_max_window_bits"}, cfg: on,
			ok: true, resp: respTakeover},
		{name: "npm ws no takeover", values: []string{"permessage-deflate; server_no_context_takeover; client_no_context_takeover; client_max_window_bits"},
			cfg: on, ok: true, want: noTO, resp: respNoTakeover},
		{name: "client_no_context_takeover only, takeover", values: []string{"permessage-deflate; client_no_context_takeover"},
			cfg: on, ok: true, want: deflateParams{clientNoContextTakeover: true}, resp: "permessage-deflate; client_no_context_takeover"},
		{name: "server_no_context_takeover only, takeover", values: []string{"permessage-deflate; server_no_context_takeover"},
			cfg: on, ok: true, want: deflateParams{serverNoContextTakeover: true}, resp: "permessage-deflate; server_no_context_takeover"},
		{name: "quoted client bits", values: []string{`permessage-deflate; client_max_window_bits="10"`}, cfg: off,
			ok: true, want: noTO, resp: respNoTakeover},
		{name: "server bits echoed", values: []string{"permessage-deflate; server_max_window_bits=10"}, cfg: off, ok: true,
			want: deflateParams{serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 10},
			resp: respNoTakeover + "; server_max_window_bits=10"},
		{name: "server bits quoted, takeover", values: []string{`permessage-deflate; server_max_window_bits="8"`}, cfg: on, ok: true,
			want: deflateParams{serverMaxWindowBits: 8}, resp: "permessage-deflate; server_max_window_bits=8"},
		{name: "server bits 15", values: []string{"permessage-deflate; server_max_window_bits=15"}, cfg: off, ok: true,
			want: deflateParams{serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 15},
			resp: respNoTakeover + "; server_max_window_bits=15"},
		{name: "case-insensitive names", values: []string{"PERMESSAGE-DEFLATE; Client_Max_Window_Bits"}, cfg: off,
			ok: true, want: noTO, resp: respNoTakeover},
		{name: "first invalid, second taken", values: []string{"permessage-deflate; server_max_window_bits=7, permessage-deflate; client_no_context_takeover"},
			cfg: on, ok: true, want: deflateParams{clientNoContextTakeover: true}, resp: "permessage-deflate; client_no_context_takeover"},
		{name: "first invalid in another header value", values: []string{"permessage-deflate; foo", "permessage-deflate"},
			cfg: off, ok: true, want: noTO, resp: respNoTakeover},
		{name: "other extension first", values: []string{"x-webkit-deflate-frame, permessage-deflate"}, cfg: off,
			ok: true, want: noTO, resp: respNoTakeover},
		{name: "autobahn list", values: []string{"permessage-deflate; client_no_context_takeover; client_max_window_bits, permessage-deflate; client_max_window_bits"},
			cfg: on, ok: true, want: deflateParams{clientNoContextTakeover: true}, resp: "permessage-deflate; client_no_context_takeover"},
		{name: "no deflate offered", values: []string{"x-foo; a=1"}, cfg: off},
		{name: "empty", values: []string{""}, cfg: off},
		{name: "disabled", values: []string{"permessage-deflate"}, cfg: DeflateConfig{Disabled: true}},
		{name: "disabled skips parsing", values: []string{"permessage-deflate;"}, cfg: DeflateConfig{Disabled: true}},
		{name: "unknown param", values: []string{"permessage-deflate; foo"}, cfg: off},
		{name: "duplicate param", values: []string{"permessage-deflate; client_max_window_bits; client_max_window_bits"}, cfg: off},
		{name: "duplicate takeover param", values: []string{"permessage-deflate; server_no_context_takeover; server_no_context_takeover"}, cfg: off},
		{name: "duplicate differing case", values: []string{"permessage-deflate; server_no_context_takeover; SERVER_NO_CONTEXT_TAKEOVER"}, cfg: off},
		{name: "value on no_context_takeover", values: []string{"permessage-deflate; client_no_context_takeover=1"}, cfg: off},
		{name: "value on server_no_context_takeover", values: []string{`permessage-deflate; server_no_context_takeover="x"`}, cfg: off},
		{name: "server bits without value", values: []string{"permessage-deflate; server_max_window_bits"}, cfg: off},
		{name: "server bits 7", values: []string{"permessage-deflate; server_max_window_bits=7"}, cfg: off},
		{name: "server bits 16", values: []string{"permessage-deflate; server_max_window_bits=16"}, cfg: off},
		{name: "server bits leading zero", values: []string{"permessage-deflate; server_max_window_bits=09"}, cfg: off},
		{name: "client bits 0", values: []string{"permessage-deflate; client_max_window_bits=0"}, cfg: off},
		{name: "client bits word", values: []string{"permessage-deflate; client_max_window_bits=ten"}, cfg: off},
		{name: "client bits 100", values: []string{"permessage-deflate; client_max_window_bits=100"}, cfg: off},
		{name: "malformed", values: []string{"permessage-deflate; client_max_window_bits=\"10"}, cfg: off, bad: true},
		{name: "malformed later value", values: []string{"permessage-deflate", "a b"}, cfg: off, bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, resp, ok, err := negotiateDeflate(tt.values, tt.cfg)
			if tt.bad {
				if ok || !errors.Is(err, errBadExtensionHeader) {
					t.Fatalf("negotiateDeflate(%q) = %v, %v; want errBadExtensionHeader", tt.values, ok, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("negotiateDeflate(%q): %v", tt.values, err)
			}
			if ok != tt.ok || p != tt.want || resp != tt.resp {
				t.Fatalf("negotiateDeflate(%q, %+v)\n got %+v %q %v\nwant %+v %q %v", tt.values, tt.cfg, p, resp, ok, tt.want, tt.resp, tt.ok)
			}
		})
	}
}

func TestDeflateOffer(t *testing.T) {
	for _, tt := range []struct {
		cfg  DeflateConfig
		want string
	}{
		{DeflateConfig{}, "permessage-deflate; client_max_window_bits; server_no_context_takeover; client_no_context_takeover"},
		{DeflateConfig{ContextTakeover: true, Level: 9}, "permessage-deflate; client_max_window_bits"},
		{DeflateConfig{Disabled: true}, ""},
	} {
		if got := deflateOffer(tt.cfg); got != tt.want {
			t.Errorf("deflateOffer(%+v) = %q, want %q", tt.cfg, got, tt.want)
		}
	}
}

func TestParseDeflateResponse(t *testing.T) {
	off := DeflateConfig{}
	on := DeflateConfig{ContextTakeover: true}
	tests := []struct {
		name    string
		values  []string
		offered DeflateConfig
		want    deflateParams
		bad     bool
	}{
		{name: "no takeover", values: []string{respNoTakeover}, offered: off,
			want: deflateParams{serverNoContextTakeover: true, clientNoContextTakeover: true}},
		{name: "bare answer, we still drop our window", values: []string{"permessage-deflate"}, offered: off,
			want: deflateParams{clientNoContextTakeover: true}},
		{name: "bare answer with takeover", values: []string{"permessage-deflate"}, offered: on},
		{name: "server drops its window unasked", values: []string{"permessage-deflate; server_no_context_takeover"}, offered: on,
			want: deflateParams{serverNoContextTakeover: true}},
		{name: "server forbids our takeover", values: []string{"permessage-deflate; client_no_context_takeover"}, offered: on,
			want: deflateParams{clientNoContextTakeover: true}},
		{name: "client bits", values: []string{"permessage-deflate; client_max_window_bits=9"}, offered: on,
			want: deflateParams{clientMaxWindowBits: 9}},
		{name: "server bits", values: []string{`permessage-deflate; server_max_window_bits="12"`}, offered: on,
			want: deflateParams{serverMaxWindowBits: 12}},
		{name: "OWS and case", values: []string{" Permessage-Deflate ;Server_No_Context_Takeover "}, offered: on,
			want: deflateParams{serverNoContextTakeover: true}},
		{name: "client bits without value", values: []string{"permessage-deflate; client_max_window_bits"}, offered: on, bad: true},
		{name: "server bits without value", values: []string{"permessage-deflate; server_max_window_bits"}, offered: on, bad: true},
		{name: "client bits out of range", values: []string{"permessage-deflate; client_max_window_bits=16"}, offered: on, bad: true},
		{name: "unknown param", values: []string{"permessage-deflate; foo=1"}, offered: on, bad: true},
		{name: "duplicate param", values: []string{"permessage-deflate; client_no_context_takeover; client_no_context_takeover"}, offered: on, bad: true},
		{name: "value on takeover param", values: []string{"permessage-deflate; server_no_context_takeover=1"}, offered: on, bad: true},
		{name: "twice in one value", values: []string{"permessage-deflate, permessage-deflate"}, offered: on, bad: true},
		{name: "twice in two values", values: []string{"permessage-deflate", "permessage-deflate"}, offered: on, bad: true},
		{name: "unoffered extension", values: []string{"x-foo"}, offered: on, bad: true},
		{name: "unoffered extension after ours", values: []string{"permessage-deflate, x-foo"}, offered: on, bad: true},
		{name: "not offered at all", values: []string{"permessage-deflate"}, offered: DeflateConfig{Disabled: true}, bad: true},
		{name: "empty header", values: []string{""}, offered: on, bad: true},
		{name: "malformed", values: []string{"permessage-deflate;"}, offered: on, bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := parseDeflateResponse(tt.values, tt.offered)
			if tt.bad {
				if err == nil {
					t.Fatalf("parseDeflateResponse(%q) = %+v; want an error", tt.values, p)
				}
				if !errors.Is(err, errDeflateNegotiation) && !errors.Is(err, errBadExtensionHeader) {
					t.Fatalf("parseDeflateResponse(%q): error %v wraps neither sentinel", tt.values, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseDeflateResponse(%q): %v", tt.values, err)
			}
			if p != tt.want {
				t.Fatalf("parseDeflateResponse(%q) = %+v, want %+v", tt.values, p, tt.want)
			}
		})
	}
}

// TestDeflateHandshakeAgreement runs our own offer through our own server:
// whatever the two configurations, both ends agree on who keeps a window.
func TestDeflateHandshakeAgreement(t *testing.T) {
	for _, client := range []DeflateConfig{{}, {ContextTakeover: true}} {
		for _, server := range []DeflateConfig{{}, {ContextTakeover: true}} {
			sp, resp, ok, err := negotiateDeflate([]string{deflateOffer(client)}, server)
			if err != nil || !ok {
				t.Fatalf("client %+v server %+v: negotiate = %v, %v", client, server, ok, err)
			}
			cp, err := parseDeflateResponse([]string{resp}, client)
			if err != nil {
				t.Fatalf("client %+v server %+v: response %q: %v", client, server, resp, err)
			}
			both := client.ContextTakeover && server.ContextTakeover
			if cp != sp || sp.serverNoContextTakeover == both || sp.clientNoContextTakeover == both {
				t.Errorf("client %+v server %+v: server runs %+v, client runs %+v", client, server, sp, cp)
			}
		}
	}
}

// formatExtensions writes offers back as one header value, quoting nothing
// (every value is a token).
func formatExtensions(offers []extensionOffer) string {
	var b strings.Builder
	for i, o := range offers {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(o.name)
		for _, p := range o.params {
			b.WriteString("; " + p.name)
			if p.hasValue {
				b.WriteString("=" + p.value)
			}
		}
	}
	return b.String()
}

func FuzzExtensionHeader(f *testing.F) {
	for _, s := range []string{
		"permessage-deflate; client_max_window_bits",
		"permessage-deflate",
		"permessage-deflate; server_no_context_takeover; client_no_context_takeover; client_max_window_bits",
		`permessage-deflate; client_max_window_bits="10"; server_max_window_bits=9`,
		"permessage-deflate; server_max_window_bits=7, permessage-deflate",
		`x; a="b\"c", y ;z= w`,
		" , ,permessage-deflate;;",
		`a; b="1\`,
		"PERMESSAGE-DEFLATE; SERVER_MAX_WINDOW_BITS=15",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		values := strings.Split(s, "\n") // several header values
		offers, err := parseExtensions(values)
		if err != nil {
			if !errors.Is(err, errBadExtensionHeader) {
				t.Fatalf("error %v does not wrap errBadExtensionHeader", err)
			}
		} else {
			for _, o := range offers {
				if !extIsToken(o.name) {
					t.Fatalf("name %q is not a token", o.name)
				}
				for _, p := range o.params {
					if !extIsToken(p.name) || p.hasValue != (p.value != "") || (p.hasValue && !extIsToken(p.value)) {
						t.Fatalf("bad param %+v", p)
					}
				}
			}
			again, err := parseExtensions([]string{formatExtensions(offers)})
			if err != nil || !reflect.DeepEqual(again, offers) {
				t.Fatalf("reparse of %q = %+v, %v; want %+v", formatExtensions(offers), again, err, offers)
			}
		}
		for _, cfg := range []DeflateConfig{{}, {ContextTakeover: true}} {
			p, resp, ok, nerr := negotiateDeflate(values, cfg)
			if (nerr != nil) != (err != nil) || (ok && nerr != nil) {
				t.Fatalf("negotiateDeflate = %v, %v after parse error %v", ok, nerr, err)
			}
			if !ok {
				if resp != "" || p != (deflateParams{}) {
					t.Fatalf("declined with %+v %q", p, resp)
				}
				continue
			}
			cp, err := parseDeflateResponse([]string{resp}, cfg)
			if err != nil {
				t.Fatalf("our response %q rejected: %v", resp, err)
			}
			if cp != p {
				t.Fatalf("server runs %+v, client reads %+v from %q", p, cp, resp)
			}
		}
		_, _ = parseDeflateResponse(values, DeflateConfig{})
	})
}
