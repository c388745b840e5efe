package protoo_test

import (
	"fmt"
	"testing"

	"github.com/switchboard/switchboard/protoo"
)

// TestErrorText checks the one form of an error reply: "CODE REASON",
// without the code's name repeating what the reason says.
func TestErrorText(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{protoo.Errorf(protoo.CodeUnauthorized, "not logged in: the first request must be login"), "401 not logged in: the first request must be login"},
		{protoo.Errorf(protoo.CodeUnknownMethod, "unknown method %q", "nosuch"), `501 unknown method "nosuch"`},
		{protoo.Errorf(protoo.CodeNotFound, "no client named %q is online", "carol"), `404 no client named "carol" is online`},
		{&protoo.Error{Code: protoo.CodeConflict}, "409 conflict"},
		{fmt.Errorf("login: %w", protoo.Errorf(protoo.CodeConflict, "name %q is taken", "bob")), `login: 409 name "bob" is taken`},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}
