package names

import (
	"errors"
	"fmt"
	"unicode"
	"unicode/utf8"
)

// The kinds of invalid name; the *Error Check returns wraps one.
var (
	ErrEmpty       = errors.New("empty name")
	ErrNotUTF8     = errors.New("name not UTF-8")
	ErrTooLong     = errors.New("name too long")
	ErrOuterSpace  = errors.New("name starts or ends with a space")
	ErrReplacement = errors.New("name has U+FFFD")
	ErrUnprintable = errors.New("name has an unprintable character")
)

// Error is an invalid name. Its text is a predicate for the name ("must
// not be empty"), to follow what the name names: "room name must not be
// empty".
type Error struct {
	Kind error // one of the Err values
	text string
}

func (e *Error) Error() string { return e.text }

// Unwrap returns e.Kind.
func (e *Error) Unwrap() error { return e.Kind }

// Check reports whether s is a valid name of at most max characters (see
// the package documentation); it returns nil or an *Error.
func Check(s string, max int) error {
	if s == "" {
		return &Error{ErrEmpty, "must not be empty"}
	}
	if !utf8.ValidString(s) {
		return &Error{ErrNotUTF8, "must be UTF-8"}
	}
	if n := utf8.RuneCountInString(s); n > max {
		return &Error{ErrTooLong, fmt.Sprintf("has %d characters, at most %d allowed", n, max)}
	}
	if s[0] == ' ' || s[len(s)-1] == ' ' {
		return &Error{ErrOuterSpace, "must not start or end with a space"}
	}
	for _, r := range s {
		switch {
		case r == utf8.RuneError:
			return &Error{ErrReplacement, "has U+FFFD, the replacement character"}
		case !unicode.IsPrint(r):
			return &Error{ErrUnprintable, fmt.Sprintf("has the unprintable character %U", r)}
		}
	}
	return nil
}
