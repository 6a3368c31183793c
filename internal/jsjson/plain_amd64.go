//go:build !purego

package jsjson

import (
	"encoding/binary"

	"golang.org/x/sys/cpu"
)

// plainBlocksAVX2 returns the index of the first special byte in the
// whole 64-byte blocks of b (len(b) rounded down to a multiple of 64), or
// that length when they have none. Special: '"', '\\', a C0 control, and
// with high = hi8 also any byte from 0x80 up. It needs AVX2.
//
//go:noescape
func plainBlocksAVX2(b []byte, high uint64) int

// asciiBlocksAVX2 returns the index of the first byte from 0x80 up in the
// whole 64-byte blocks of b, or their length. It needs AVX2.
//
//go:noescape
func asciiBlocksAVX2(b []byte) int

// vector: the CPU runs plainBlocksAVX2; otherwise the scans are those of
// plain_other.go.
var vector = cpu.X86.HasAVX2

// skipRun is skipPlain's scan of a run that may be long.
func skipRun(b []byte, i int) int {
	if !vector {
		return skipPlainWindows(b, i)
	}
	if len(b)-i >= 64 { // shorter runs skip the call and the vector setup
		i += plainBlocksAVX2(b[i:], 0)
	}
	return skipPlainTail(b, i, 0)
}

// asciiPlainPrefix returns the length of b's longest prefix of ASCII
// bytes that JSON writes as they are (zero without AVX2: Verbatim then
// runs its two general tests, which is cheaper than a scan eight bytes at
// a time).
func asciiPlainPrefix(b []byte) int {
	if !vector {
		return 0
	}
	return skipPlainTail(b, plainBlocksAVX2(b, hi8), hi8)
}

// asciiPrefix returns the length of a prefix of b that is ASCII: the
// longest with AVX2, zero without (utf8.Valid has its own ASCII path).
func asciiPrefix(b []byte) int {
	if !vector {
		return 0
	}
	return asciiBlocksAVX2(b)
}

// skipPlainTail finishes a scan that plainBlocksAVX2 left at i: eight
// bytes at a time, then one by one from the word that holds a special
// byte.
func skipPlainTail(b []byte, i int, high uint64) int {
	for ; i+8 <= len(b); i += 8 {
		if x := binary.LittleEndian.Uint64(b[i:]); special(x)|x&high != 0 {
			break
		}
	}
	for i < len(b) && plain[b[i]] && b[i]&byte(high) == 0 {
		i++
	}
	return i
}
