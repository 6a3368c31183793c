//go:build !amd64 || purego

package jsjson

// skipRun is skipPlain's scan of a run that may be long.
func skipRun(b []byte, i int) int { return skipPlainWindows(b, i) }

// asciiPlainPrefix would return the length of b's longest prefix of ASCII
// bytes that JSON writes as they are; without a vectorized scan, zero is
// cheaper (Verbatim then runs its two general tests).
func asciiPlainPrefix(b []byte) int { return 0 }

// asciiPrefix would return the length of a prefix of b that is ASCII;
// zero leaves it all to utf8.Valid.
func asciiPrefix(b []byte) int { return 0 }
