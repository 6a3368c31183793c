// Package rawbuf allocates byte buffers without clearing them first.
//
// make([]byte, 0, n) clears all n bytes, and for a buffer that is about to
// be filled by copying (a reassembled message, an encoded offer) that is a
// whole extra pass over memory: for a 1 MiB message about a fifth of the
// reassembly's CPU. The runtime can allocate without clearing, but exports
// that only through strings.Builder.Grow; this package reaches that
// memory as a []byte.
package rawbuf

import (
	"strings"
	"unsafe"
)

// minSize is the size below which clearing costs less than the detour.
const minSize = 4 << 10

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
	return unsafe.Slice(unsafe.StringData(s), n)[:0:n]
}
