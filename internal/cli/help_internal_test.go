package cli

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestServeHelpDocumentsEveryFlag checks `serve --help` against the flags
// serve registers, so that a new flag cannot go undocumented.
func TestServeHelpDocumentsEveryFlag(t *testing.T) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var f serveFlags
	f.register(fs)

	var stdout, stderr bytes.Buffer
	if code := Run(context.Background(), []string{"serve", "--help"}, &stdout, &stderr); code != 0 {
		t.Fatalf("serve --help: exit %d, want 0", code)
	}
	help := stdout.String()
	n := 0
	fs.VisitAll(func(fl *flag.Flag) {
		n++
		if fl.Usage == "" {
			t.Errorf("--%s has no usage text", fl.Name)
		}
		if !regexp.MustCompile(`(?m)^  --` + regexp.QuoteMeta(fl.Name) + `\b`).MatchString(help) {
			t.Errorf("serve --help does not document --%s", fl.Name)
		}
	})
	if n == 0 {
		t.Fatal("serve registers no flags")
	}
	t.Logf("%d flags documented", n)
}

var update = flag.Bool("update", false, "rewrite docs/flags.md from serve's flags")

// flagsDocPath is the flag reference, generated from serve's flag set.
const flagsDocPath = "../../docs/flags.md"

// flagsDoc is docs/flags.md: serve's flags as `serve --help` describes
// them, as a table.
func flagsDoc() string {
	fs := newFlagSet("serve")
	var f serveFlags
	f.register(fs)
	var b strings.Builder
	b.WriteString("# `switchboard serve` flags\n\n")
	b.WriteString("<!-- Generated from serve's flag set (internal/cli/serve.go); do not edit.\n")
	b.WriteString("     Regenerate with: go test ./internal/cli -run TestFlagsDoc -update -->\n\n")
	b.WriteString("Every flag of `switchboard serve`, as `switchboard serve --help` prints\n")
	b.WriteString("them. A flag is written `--name value` or `--name=value`; a boolean flag\n")
	b.WriteString("alone turns it on and `--name=false` off. Durations read like `10s`,\n")
	b.WriteString("`250ms` or `1m30s`. Repeatable flags may be given several times.\n\n")
	b.WriteString("| flag | default | meaning |\n|---|---|---|\n")
	fs.VisitAll(func(fl *flag.Flag) {
		name, usage := flag.UnquoteUsage(fl)
		flagCol := "`--" + fl.Name
		if name != "" {
			flagCol += " " + name
		}
		flagCol += "`"
		def := fl.DefValue
		if def != "" {
			def = "`" + def + "`"
		}
		usage = strings.NewReplacer("|", `\|`, "*", `\*`, "<", `\<`).Replace(usage)
		fmt.Fprintf(&b, "| %s | %s | %s |\n", flagCol, def, usage)
	})
	return b.String()
}

// TestFlagsDoc checks that docs/flags.md is serve's flag set as it is, so
// that the reference cannot drift from the code. After adding or changing
// a flag, regenerate it with:
//
//	go test ./internal/cli -run TestFlagsDoc -update
func TestFlagsDoc(t *testing.T) {
	want := flagsDoc()
	if *update {
		if err := os.WriteFile(flagsDocPath, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", flagsDocPath)
		return
	}
	got, err := os.ReadFile(flagsDocPath)
	if err != nil {
		t.Fatalf("%v (generate it: go test ./internal/cli -run TestFlagsDoc -update)", err)
	}
	if string(got) != want {
		t.Fatalf("%s does not match serve's flags; regenerate it with\n\tgo test ./internal/cli -run TestFlagsDoc -update", flagsDocPath)
	}
}

func TestStartLine(t *testing.T) {
	tests := []struct {
		addr net.Addr
		want string
	}{
		{&net.TCPAddr{IP: net.IPv6unspecified, Port: 8888}, "switchboard listening on [::]:8888 (web app http://localhost:8888/, WebSocket ws://localhost:8888/ws, peerconnection http://localhost:8888)"},
		{&net.TCPAddr{IP: net.IPv4zero, Port: 9000}, "switchboard listening on 0.0.0.0:9000 (web app http://localhost:9000/, WebSocket ws://localhost:9000/ws, peerconnection http://localhost:9000)"},
		{&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 80}, "switchboard listening on 127.0.0.1:80 (web app http://127.0.0.1:80/, WebSocket ws://127.0.0.1:80/ws, peerconnection http://127.0.0.1:80)"},
		{&net.TCPAddr{IP: net.IPv6loopback, Port: 8888}, "switchboard listening on [::1]:8888 (web app http://[::1]:8888/, WebSocket ws://[::1]:8888/ws, peerconnection http://[::1]:8888)"},
	}
	for _, tt := range tests {
		if got := startLine(tt.addr); got != tt.want {
			t.Errorf("startLine(%s) =\n%q, want\n%q", tt.addr, got, tt.want)
		}
	}
}
