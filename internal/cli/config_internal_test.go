package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/broker"
)

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	want := broker.Rules{
		{Prefix: "chat:", Options: broker.Options{Publish: broker.PublishersClients, HistorySize: 50, HistoryMaxAge: 10 * time.Minute}},
		{Prefix: "feed:", Options: broker.Options{Publish: broker.PublishersServer}},
	}
	for _, p := range []string{
		write("c.json", `{"channels":[{"prefix":"chat:","history":50,"maxAge":"10m"},{"prefix":"feed:","publish":"server"}]}`),
		write("c.yaml", "channels:\n  - prefix: \"chat:\"\n    publish: clients\n    history: 50\n    maxAge: 10m\n  - prefix: \"feed:\"\n    publish: server\n"),
	} {
		rules, err := loadConfig(p)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if len(rules) != 2 || rules[0] != want[0] || rules[1] != want[1] {
			t.Fatalf("%s: rules = %+v", p, rules)
		}
	}
	for body, wantErr := range map[string]string{
		`{"channels":[{"history":1}]}`:                     "missing prefix",
		`{"channels":[{"prefix":"a","publish":"anyone"}]}`: "publish must be",
		`{"channels":[{"prefix":"a","maxAge":"soon"}]}`:    "maxAge",
		`{"channels":[{"prefix":"a","history":-1}]}`:       "negative",
		`{"chanels":[]}`: "unknown field",
		`{`:              "unexpected EOF",
	} {
		_, err := loadConfig(write("bad.json", body))
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("%s: error %v, want %q", body, err, wantErr)
		}
	}
	if _, err := loadConfig(write("bad.yml", "channels:\n  - prefix: a\n    colour: red\n")); err == nil {
		t.Error("unknown YAML key accepted")
	}
	if _, err := loadConfig(filepath.Join(dir, "missing.json")); err == nil {
		t.Error("missing file accepted")
	}
}

func TestChannelFlag(t *testing.T) {
	var f channelFlag
	if err := f.Set("news:,publish=server,history=5,max-age=1m"); err != nil {
		t.Fatal(err)
	}
	if err := f.Set("plain"); err != nil {
		t.Fatal(err)
	}
	want := broker.Rule{Prefix: "news:", Options: broker.Options{Publish: broker.PublishersServer, HistorySize: 5, HistoryMaxAge: time.Minute}}
	if len(f) != 2 || f[0] != want || f[1].Prefix != "plain" || f[1].Publish != broker.PublishersClients {
		t.Fatalf("rules = %+v", f)
	}
	for _, bad := range []string{"a,history", "a,history=x", "a,colour=red", "a,publish=all"} {
		if err := f.Set(bad); err == nil {
			t.Errorf("--channel %s accepted", bad)
		}
	}
}
