package session

import (
	"strings"
	"testing"
)

// TestOneNamingRule checks that login names, room names and channel names
// follow one rule (package names): what one refuses, all refuse.
func TestOneNamingRule(t *testing.T) {
	h := NewHub(Config{})
	defer h.Close()
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"alice", true},
		{"ünïcode 名前", true},
		{"a b", true},
		{" ", false},
		{" alice", false},
		{"alice ", false},
		{"\u202ecod.exe", false}, // bidi override
		{"a\u200bb", false},      // zero-width space
		{"a\ufffdb", false},      // replacement character
		{"a\u00a0b", false},      // no-break space
		{"a\x00b", false},
		{"\xff", false},
		{"", false},
	} {
		c := open(h, "")
		login := c.call(t, "login", map[string]string{"name": tc.name})
		if login.OK != tc.ok {
			t.Errorf("login %q: ok %v (%d %s), want %v", tc.name, login.OK, login.ErrorCode, login.ErrorReason, tc.ok)
		}
		if !login.OK {
			c.ok(t, "login", map[string]string{"name": "tester"}, nil)
		}
		for _, m := range []struct {
			method string
			data   map[string]any
		}{
			{"join", map[string]any{"room": tc.name}},
			{"subscribe", map[string]any{"channel": tc.name}},
			{"publish", map[string]any{"channel": tc.name, "data": 1}},
		} {
			r := c.call(t, m.method, m.data)
			if r.OK != tc.ok && !(tc.ok && m.method == "publish") {
				t.Errorf("%s %q: ok %v (%d %s), want %v", m.method, tc.name, r.OK, r.ErrorCode, r.ErrorReason, tc.ok)
			}
			if !r.OK && r.ErrorCode == 400 && !strings.Contains(r.ErrorReason, "name") {
				t.Errorf("%s %q: reason %q does not say what is wrong with the name", m.method, tc.name, r.ErrorReason)
			}
		}
		c.Closed(1000)
	}
}
