package names

import (
	"errors"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name string
		want error // nil: valid
	}{
		{"bob", nil},
		{"ünïcode 名前", nil},
		{"a b", nil},
		{"room-1/x:y", nil},
		{"😀", nil},
		{strings.Repeat("x", 10), nil},
		{strings.Repeat("é", 10), nil}, // characters, not bytes
		{"", ErrEmpty},
		{"\xff", ErrNotUTF8},
		{"a\xc3", ErrNotUTF8},
		{strings.Repeat("x", 11), ErrTooLong},
		{" ", ErrOuterSpace},
		{"   ", ErrOuterSpace},
		{" bob", ErrOuterSpace},
		{"bob ", ErrOuterSpace},
		{"bo\ufffdb", ErrReplacement},
		{"\u202egnp.exe", ErrUnprintable}, // right-to-left override
		{"a\u200bb", ErrUnprintable},      // zero-width space
		{"a\u200db", ErrUnprintable},      // zero-width joiner
		{"a\u00a0b", ErrUnprintable},      // no-break space
		{"a\u3000b", ErrUnprintable},      // ideographic space
		{"a\tb", ErrUnprintable},
		{"a\nb", ErrUnprintable},
		{"a\x00b", ErrUnprintable},
		{"a\x7fb", ErrUnprintable},
		{"a\ue000b", ErrUnprintable}, // private use
		{"a\u0378b", ErrUnprintable}, // unassigned
	} {
		err := Check(tc.name, 10)
		if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
			t.Errorf("Check(%q) = %v, want %v", tc.name, err, tc.want)
		}
		var ne *Error
		if err != nil && (!errors.As(err, &ne) || ne.Error() == "") {
			t.Errorf("Check(%q) = %#v, want an *Error with a text", tc.name, err)
		}
	}
}
