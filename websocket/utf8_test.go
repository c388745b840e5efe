package websocket

import (
	"testing"
	"unicode/utf8"
)

// validateSplit feeds b to a validator in pieces cut at the given points.
func validateSplit(b []byte, cuts ...int) (ok, done bool) {
	var v utf8Validator
	prev := 0
	for _, c := range append(cuts, len(b)) {
		if c < prev || c > len(b) {
			continue
		}
		if !v.write(b[prev:c]) {
			return false, false
		}
		prev = c
	}
	return true, v.done()
}

func TestUTF8Validator(t *testing.T) {
	tests := []struct {
		name string
		in   string
		ok   bool // no byte made it invalid
		done bool // and it ended on a rune boundary
	}{
		{"empty", "", true, true},
		{"ascii", "Hello-µ@ßöäüàá-UTF-8!!", true, true},
		{"kosme", "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5", true, true},
		{"cut rune", "\xce\xba\xe1\xbd", true, false},
		{"max code point", "\xf4\x8f\xbf\xbf", true, true},
		{"beyond max", "\xf4\x90\x80\x80", false, false},
		{"surrogate", "\xed\xa0\x80", false, false},
		{"overlong slash", "\xc0\xaf", false, false},
		{"overlong 3", "\xe0\x80\xaf", false, false},
		{"lone continuation", "\x80", false, false},
		{"fe", "\xfe", false, false},
		{"bad in middle", "abc\xffdef", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for cut := 0; cut <= len(tt.in); cut++ {
				ok, done := validateSplit([]byte(tt.in), cut)
				if ok != tt.ok || (ok && done != tt.done) {
					t.Fatalf("cut %d: ok=%v done=%v, want ok=%v done=%v", cut, ok, done, tt.ok, tt.done)
				}
			}
		})
	}
}

// TestUTF8FailFast checks that a sequence fails on the first byte that
// makes it invalid, not at the end of the message.
func TestUTF8FailFast(t *testing.T) {
	var v utf8Validator
	if !v.write([]byte("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5")) {
		t.Fatal("valid prefix rejected")
	}
	if v.write([]byte("\xf4\x90")) {
		t.Fatal("0xf4 0x90 can never be valid and must fail at once")
	}
}

func FuzzUTF8Validator(f *testing.F) {
	f.Add([]byte("hello"), 2)
	f.Add([]byte("\xce\xba\xe1\xbd\xb9"), 3)
	f.Add([]byte("\xf4\x90\x80\x80"), 1)
	f.Add([]byte("\xed\xa0\x80"), 2)
	f.Fuzz(func(t *testing.T, b []byte, cut int) {
		ok, done := validateSplit(b, cut)
		if want := utf8.Valid(b); (ok && done) != want {
			t.Fatalf("validator says %v/%v, utf8.Valid says %v for % x cut %d", ok, done, want, b, cut)
		}
	})
}
