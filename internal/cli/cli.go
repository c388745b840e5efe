package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// errUsage marks an error whose message was already printed with usage.
var errUsage = errors.New("usage")

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"serve", "run the server (WebSocket, peerconnection signaling, web app, health) on one port", runServe},
		{"client", "a command-line messaging client: log in, echo, send, subscribe, publish; interactive or one request", runClient},
		{"bench", "a load generator for WebSocket servers (echo, fanout, idle memory, long-poll) and the suite behind make bench", runBench},
		{"pc", "a command-line peerconnection signaling member: sign in, list peers, send and print messages", runPC},
		{"version", "print the version, VCS revision and build time (also --version)", runVersion},
	}
}

// Run runs the switchboard command line with args (without the program
// name). It returns the process exit code; errors are printed to stderr.
// ctx is cancelled on SIGINT/SIGTERM, which makes serve shut down.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	name := args[0]
	switch name {
	case "help", "-h", "--help", "-help":
		usage(stdout)
		return 0
	case "--version", "-version":
		name = "version"
	}
	for _, c := range commands() {
		if c.name == name {
			return exitCode(c.run(ctx, args[1:], stdout, stderr), stderr)
		}
	}
	fmt.Fprintf(stderr, "Error: unknown command %q\nsee 'switchboard --help'\n", name)
	return 2
}

// exitCode is the exit status of a command's result; it prints an error
// that was not printed yet to stderr.
func exitCode(err error, stderr io.Writer) int {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	}
	fmt.Fprintf(stderr, "Error: %v\n", err)
	return 1
}

func usage(w io.Writer) {
	var b strings.Builder
	b.WriteString("Switchboard is a real-time server for browsers, native apps and WebRTC peers.\n\n")
	b.WriteString("Usage:\n  switchboard <command> [flags]\n\nCommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(&b, "  %-10s %s\n", c.name, c.summary)
	}
	b.WriteString("\nRun 'switchboard <command> --help' for a command's flags.\n")
	io.WriteString(w, b.String())
}

func runVersion(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("version")
	if err := parseFlags(fs, args, "Usage: switchboard version\n\nPrints the module version, the VCS revision and commit time the go command\nrecorded in the binary, the build time when the build set it (make build\ndoes) and the Go version.\n", stdout, stderr); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("version takes no arguments, got %q", strings.Join(fs.Args(), " "))
	}
	printVersion(stdout)
	return nil
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string { return strings.Join(*s, ",") }

func (s *stringList) Set(v string) error {
	*s = append(*s, v)
	return nil
}
