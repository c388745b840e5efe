// Package names holds the one rule for the names clients choose: login
// names (peer ids), room names and channel names. Every service checks
// names with Check, so a name that one of them accepts is never refused,
// or displayed differently, by another.
//
// The rule: a name is 1 to max characters of valid UTF-8 in which every
// character is printable in the sense of unicode.IsPrint (a letter, mark,
// number, punctuation or symbol, or the ASCII space U+0020) and is not
// U+FFFD, the replacement character; and it neither starts nor ends with
// a space. So control characters, format characters (bidi overrides such
// as U+202E, zero-width spaces and joiners), spaces other than U+0020,
// private-use and unassigned code points, blank names (" ") and names
// that hide in padding (" bob") are all refused.
package names
