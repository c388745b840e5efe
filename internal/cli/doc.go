// Package cli is the switchboard command line. Run is the whole program
// minus signal handling; cmd/switchboard calls it and tests call it too.
// Only this package reads flags and the environment.
//
// Start at cli.go (the commands and exit statuses); each command has its
// file (serve.go, client.go, pc.go, bench.go, version.go). flags.go holds
// what they share: help that was asked for goes to stdout in one style
// (--name placeholder, wrapped), and a wrong flag is one line of error and
// one line of hint on stderr. docs/flags.md is generated from serve's flag
// set; after changing a flag, regenerate it with
//
//	go test ./internal/cli -run TestFlagsDoc -update
package cli
