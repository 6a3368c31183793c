package rawbuf

import (
	"os"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// populateUnsupported is set once the kernel has refused
// MADV_POPULATE_WRITE (before Linux 5.14) or mincore, or a sandbox has
// forbidden either, so neither is asked again.
var populateUnsupported atomic.Bool

// refused reports whether errno means the call will never work here.
func refused(errno error) bool {
	return errno == unix.EINVAL || errno == unix.ENOSYS || errno == unix.EPERM
}

var pageSize = uintptr(os.Getpagesize())

// chunkPages is how many pages one mincore call looks at.
const chunkPages = 512

// minRun is the fewest unmapped pages in a row worth a system call. A
// buffer of fresh memory is unmapped throughout; a few unmapped pages in a
// reused one fault in faster one by one (measured: populating scattered
// runs of a reused 1 MiB buffer doubled its reassembly time).
const minRun = 64

// prefault maps the pages that lie wholly inside b and are not mapped yet,
// as the first write to each would, without writing: b's contents do not
// change. Pages already mapped are skipped, since asking the kernel to
// populate them costs about half a warm copy of them; mincore, which says
// which are mapped, costs about 3 µs per MiB. Pages shared with
// neighbouring memory are left alone, and so is any failure: the copy that
// follows faults in whatever this did not map.
func prefault(b []byte) {
	if len(b) == 0 || populateUnsupported.Load() {
		return
	}
	start := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	first := (start + pageSize - 1) &^ (pageSize - 1)
	last := (start + uintptr(len(b))) &^ (pageSize - 1)
	var vec [chunkPages]byte
	for first < last {
		n := min((last-first)/pageSize, chunkPages)
		chunk := b[first-start : first-start+n*pageSize]
		if _, _, errno := unix.Syscall(unix.SYS_MINCORE, first, n*pageSize, uintptr(unsafe.Pointer(&vec[0]))); errno != 0 {
			if refused(errno) {
				populateUnsupported.Store(true)
			}
			return
		}
		// Populate each long run of unmapped pages.
		for i := uintptr(0); i < n; {
			if vec[i]&1 != 0 {
				i++
				continue
			}
			j := i + 1
			for j < n && vec[j]&1 == 0 {
				j++
			}
			if j-i < minRun {
				i = j
				continue
			}
			if err := unix.Madvise(chunk[i*pageSize:j*pageSize], unix.MADV_POPULATE_WRITE); refused(err) {
				populateUnsupported.Store(true)
				return
			}
			i = j
		}
		first += n * pageSize
	}
}
