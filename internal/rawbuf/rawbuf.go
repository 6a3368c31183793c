// Package rawbuf allocates byte buffers without clearing them first.
//
// make([]byte, 0, n) clears all n bytes, and for a buffer that is about to
// be filled by copying (a reassembled message, an encoded offer) that is a
// whole extra pass over memory: for a 1 MiB message about a fifth of the
// reassembly's CPU. The runtime can allocate without clearing, but exports
// that only through strings.Builder.Grow; this package reaches that
// memory as a []byte.
//
// A large buffer is often new memory, whose pages the kernel maps one
// fault at a time as the copy first touches them. On Linux a buffer of at
// least [PrefaultSize] bytes has its pages mapped by one system call
// (MADV_POPULATE_WRITE) instead: on the 2-core VM this was measured on,
// copying into a fresh MiB took 0.60–0.69 ms that way against 0.96–1.14 ms
// with a fault per page (BenchmarkFreshMiB).
package rawbuf

import (
	"strings"
	"unsafe"
)

// minSize is the size below which clearing costs less than the detour.
const minSize = 4 << 10

// PrefaultSize is the smallest buffer whose pages are mapped up front.
// Below it the pages are more likely to be mapped already (the runtime
// reuses small spans), and the system call costs more than the faults.
const PrefaultSize = 256 << 10

// Alloc returns an empty slice with capacity at least n whose backing
// array holds arbitrary bytes. Callers must only append to it (or write
// before they read), as they would to make([]byte, 0, n).
func Alloc(n int) []byte {
	if n < minSize {
		return make([]byte, 0, n)
	}
	var b strings.Builder
	b.Grow(n)
	// The builder's array is fresh and no string refers to it yet; one
	// written byte makes its data pointer well defined.
	b.WriteByte(0)
	s := b.String()
	buf := unsafe.Slice(unsafe.StringData(s), n)
	if n >= PrefaultSize {
		prefault(buf)
	}
	return buf[:0:n]
}

// Grow returns b with room for at least n more bytes: b itself when it has
// it, otherwise a new buffer from [Alloc] holding b's bytes.
func Grow(b []byte, n int) []byte {
	if cap(b)-len(b) >= n {
		return b
	}
	return append(Alloc(len(b)+n), b...)
}
