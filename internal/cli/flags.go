package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// newFlagSet returns a flag set for the command cmd (such as "serve" or
// "bench echo") whose help, printed by parseFlags, is intro followed by
// the flags. The flag package itself prints nothing.
func newFlagSet(cmd string) *flag.FlagSet {
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parseFlags parses args with fs. Help that was asked for (-h, --help)
// goes to stdout in full: intro, then the flags; it returns flag.ErrHelp.
// A wrong flag prints one line of error and one line of hint to stderr and
// returns errUsage, so that the error is not scrolled away by the usage.
func parseFlags(fs *flag.FlagSet, args []string, intro string, stdout, stderr io.Writer) error {
	err := fs.Parse(args)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, flag.ErrHelp):
		printUsage(stdout, fs, intro)
		return err
	}
	fmt.Fprintf(stderr, "Error: %s\n%s\n", dashes.Replace(err.Error()), helpHint(fs.Name()))
	return errUsage
}

// dashes writes flag names in the flag package's errors with two dashes,
// as help and the docs write them.
var dashes = strings.NewReplacer(
	"not defined: -", "not defined: --",
	"for flag -", "for flag --",
	"needs an argument: -", "needs an argument: --",
)

// helpHint is the line that tells where a command's flags are described.
func helpHint(cmd string) string {
	return fmt.Sprintf("see 'switchboard %s --help'", cmd)
}

// printUsage writes intro and then every flag of fs.
func printUsage(w io.Writer, fs *flag.FlagSet, intro string) {
	var b strings.Builder
	b.WriteString(intro)
	if !strings.HasSuffix(intro, "\n") {
		b.WriteByte('\n')
	}
	b.WriteString("\nFlags:\n")
	writeFlags(&b, fs)
	io.WriteString(w, b.String())
}

// writeFlags lists the flags of fs, each as
//
//	--name placeholder
//	      usage (default value)
//
// The placeholder is the usage's `backquoted` word, else the flag's
// type as flag.UnquoteUsage names it (duration, int, string, value);
// boolean flags have none.
func writeFlags(b *strings.Builder, fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		name, usage := flag.UnquoteUsage(f)
		b.WriteString("  --")
		b.WriteString(f.Name)
		if name != "" {
			b.WriteString(" ")
			b.WriteString(name)
		}
		if d := flagDefault(f); d != "" {
			usage += fmt.Sprintf(" (default %s)", d)
		}
		b.WriteString("\n")
		wrap(b, usage, "        ", 80)
	})
}

// flagDefault is f's default as help shows it: empty for a zero value
// (false, 0, 0s, the empty string), quoted for a string.
func flagDefault(f *flag.Flag) string {
	switch f.DefValue {
	case "", "false", "0", "0s", "[]":
		return ""
	}
	if g, ok := f.Value.(flag.Getter); ok {
		if _, isString := g.Get().(string); isString {
			return fmt.Sprintf("%q", f.DefValue)
		}
	}
	return f.DefValue
}

// wrap writes text in lines of at most width bytes (longer words stay
// whole), each starting with indent.
func wrap(b *strings.Builder, text, indent string, width int) {
	n := 0
	for _, w := range strings.Fields(text) {
		switch {
		case n == 0:
			b.WriteString(indent)
			n = len(indent)
		case n+1+len(w) > width:
			b.WriteString("\n")
			b.WriteString(indent)
			n = len(indent)
		default:
			b.WriteByte(' ')
			n++
		}
		b.WriteString(w)
		n += len(w)
	}
	b.WriteString("\n")
}
