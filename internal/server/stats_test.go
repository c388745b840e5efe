package server_test

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"net"
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/server"
	"github.com/switchboard/switchboard/internal/testutil"
	"github.com/switchboard/switchboard/internal/testutil/servertest"
	"github.com/switchboard/switchboard/websocket"
)

var camelCase = regexp.MustCompile(`^[a-z][a-zA-Z]*$`)

// jsonKeys returns the JSON keys of a struct type's fields.
func jsonKeys(t reflect.Type) []string {
	var keys []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		keys = append(keys, name)
	}
	return keys
}

// typeDoc returns the doc comment of the named type in stats.go.
func typeDoc(t *testing.T, name string) string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "stats.go", nil, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range f.Decls {
		if g, ok := d.(*ast.GenDecl); ok && g.Tok == token.TYPE && len(g.Specs) == 1 && g.Specs[0].(*ast.TypeSpec).Name.Name == name {
			return g.Doc.Text()
		}
	}
	t.Fatalf("no type %s in stats.go", name)
	return ""
}

// TestStatsNames: /stats and the stream channel use one naming, camelCase,
// and the doc comments of Stats and StreamFigures (the reference for
// users) name every key.
func TestStatsNames(t *testing.T) {
	for _, tc := range []struct {
		name string
		typ  reflect.Type
	}{
		{"Stats", reflect.TypeFor[server.Stats]()},
		{"StreamFigures", reflect.TypeFor[server.StreamFigures]()},
	} {
		doc := typeDoc(t, tc.name)
		for _, k := range jsonKeys(tc.typ) {
			if !camelCase.MatchString(k) {
				t.Errorf("%s key %q is not camelCase", tc.name, k)
			}
			if !regexp.MustCompile(`\b` + k + `[:,]`).MatchString(doc) {
				t.Errorf("the doc comment of %s does not describe %q", tc.name, k)
			}
		}
	}

	// What the server serves: every key camelCase, the stream figures
	// included.
	ts := servertest.Start(t, server.Config{Messaging: server.MessagingConfig{StreamInterval: 5 * time.Millisecond}})
	var raw map[string]json.RawMessage
	deadline := time.Now().Add(msgWait)
	for raw["stream"] == nil {
		if time.Now().After(deadline) {
			t.Fatalf("no stream figures in /stats within %v", msgWait)
		}
		raw = getJSON[map[string]json.RawMessage](t, ts.URL("http", "/stats"))
	}
	for k := range raw {
		if !camelCase.MatchString(k) {
			t.Errorf("/stats key %q is not camelCase", k)
		}
	}
	var stream map[string]json.RawMessage
	if err := json.Unmarshal(raw["stream"], &stream); err != nil {
		t.Fatal(err)
	}
	if got, want := len(stream), len(jsonKeys(reflect.TypeFor[server.StreamFigures]())); got != want {
		t.Errorf("/stats stream has %d keys, want %d: %s", got, want, raw["stream"])
	}
}

// getJSON fetches url and decodes its JSON body into a T.
func getJSON[T any](t *testing.T, url string) T {
	t.Helper()
	var v T
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s = %d %v", url, resp.StatusCode, err)
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("GET %s: %v in %s", url, err, b)
	}
	return v
}

// TestStreamFiguresRounded: the stream channel's rates are rounded to two
// decimals at the source, and each publication says its interval, which
// /config.json also serves to the web app.
func TestStreamFiguresRounded(t *testing.T) {
	const interval = 7 * time.Millisecond
	ts := servertest.Start(t, server.Config{Messaging: server.MessagingConfig{StreamInterval: interval}})
	if cc := getJSON[server.ClientConfig](t, ts.URL("http", "/config.json")); cc.StreamIntervalSeconds != interval.Seconds() {
		t.Errorf("/config.json streamIntervalSeconds = %v, want %v", cc.StreamIntervalSeconds, interval.Seconds())
	}
	p := dialMsg(t, ts.URL("ws", "/ws"), websocket.Config{})
	login(t, p, "watcher")
	p.ok(t, "subscribe", map[string]string{"channel": "stream"}, nil)

	// Echo until a few publications counted traffic: then the raw rates
	// (messages over a ticker's jittery period) are fractions. At most
	// 2000 echos, one at a time.
	twoDecimals := regexp.MustCompile(`^\d+(\.\d{1,2})?$`)
	busy := func() int {
		n := 0
		for _, note := range p.notes("publication") {
			var pub struct {
				Data map[string]json.RawMessage `json:"data"`
			}
			if err := json.Unmarshal(note.Data, &pub); err != nil {
				t.Fatal(err)
			}
			if string(pub.Data["messagesInPerSec"]) != "0" {
				n++
			}
		}
		return n
	}
	for i := 0; i < 2000 && busy() < 3; i++ {
		p.ok(t, "echo", i, nil)
	}
	if busy() < 3 {
		t.Fatalf("fewer than 3 stream publications counted the echos")
	}
	for _, note := range p.notes("publication") {
		var pub struct {
			Data map[string]json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(note.Data, &pub); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"messagesInPerSec", "messagesOutPerSec"} {
			if v := string(pub.Data[k]); !twoDecimals.MatchString(v) {
				t.Errorf("stream %s = %s, want at most two decimals", k, v)
			}
		}
		if v := string(pub.Data["intervalSeconds"]); v != "0.007" {
			t.Errorf("stream intervalSeconds = %s, want 0.007", v)
		}
	}
}

// TestStatsFrontDoorRefusals: connections the front door turns away
// (503 past --max-connections, 408 for a head that does not come) are
// counted in /stats, so an operator sees them.
func TestStatsFrontDoorRefusals(t *testing.T) {
	ts := servertest.Start(t, server.Config{MaxConnections: 1, HeadReadTimeout: 300 * time.Millisecond})
	addr := strings.TrimPrefix(ts.URL("http", ""), "http://")
	hold, err := net.Dial("tcp", addr) // takes the only place and sends nothing
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Close()
	over, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(over); !strings.HasPrefix(string(b), "HTTP/1.1 503") {
		t.Fatalf("the connection past the cap got %q, want a 503", b)
	}
	over.Close()
	if b, _ := io.ReadAll(hold); !strings.HasPrefix(string(b), "HTTP/1.1 408") {
		t.Fatalf("a silent connection got %q, want a 408", b)
	}
	var st server.Stats
	testutil.WaitFor(t, msgWait, "the refusals in /stats", func() bool {
		// The held connection's place may not be free yet: a 503 or a
		// closed connection means try again.
		resp, err := http.Get(ts.URL("http", "/stats"))
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&st) != nil {
			return false
		}
		return st.RefusedOverCapacity >= 1 && st.RefusedHeadTimeouts == 1
	})
	if st.RefusedOverIPCap != 0 || st.RefusedBadHeads != 0 {
		t.Errorf("refusals that did not happen counted: %+v", st)
	}
}
