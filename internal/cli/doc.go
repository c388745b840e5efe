// Package cli is the switchboard command line. Run is the whole program
// minus signal handling; cmd/switchboard calls it and tests call it too.
// Only this package reads flags and the environment.
package cli
