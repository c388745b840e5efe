package cli

import (
	"bytes"
	"context"
	"flag"
	"regexp"
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
	help := stdout.String() + stderr.String()
	n := 0
	fs.VisitAll(func(fl *flag.Flag) {
		n++
		if fl.Usage == "" {
			t.Errorf("--%s has no usage text", fl.Name)
		}
		if !regexp.MustCompile(`(?m)^  -` + regexp.QuoteMeta(fl.Name) + `\b`).MatchString(help) {
			t.Errorf("serve --help does not document --%s", fl.Name)
		}
	})
	if n == 0 {
		t.Fatal("serve registers no flags")
	}
	t.Logf("%d flags documented", n)
}
