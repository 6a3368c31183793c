package rawbuf

import (
	"bytes"
	"runtime"
	"syscall"
	"testing"
)

func minorFaults(t *testing.T) int64 {
	t.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_THREAD, &ru); err != nil {
		t.Fatal(err)
	}
	return ru.Minflt
}

// freshPages maps n pages no one has touched yet, outside the Go heap so
// that the runtime cannot have touched them either.
func freshPages(t *testing.T, n int) []byte {
	t.Helper()
	b, err := syscall.Mmap(-1, 0, n*int(pageSize), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Munmap(b) })
	return b
}

// After prefault, writing the pages takes no page fault; without it, one
// per page. The thread's own fault count is read, so the test is pinned to
// one thread.
func TestPrefaultMapsFreshPages(t *testing.T) {
	const pages = 64
	touch := func(b []byte) int64 {
		before := minorFaults(t)
		for i := 0; i < len(b); i += int(pageSize) {
			b[i] = 1
		}
		return minorFaults(t) - before
	}
	lockThread(t)
	unmapped := touch(freshPages(t, pages))
	if unmapped < pages {
		t.Fatalf("writing %d fresh pages took %d faults; the test needs one per page", pages, unmapped)
	}
	b := freshPages(t, pages)
	prefault(b)
	if populateUnsupported.Load() {
		t.Skip("this kernel has no MADV_POPULATE_WRITE (Linux 5.14 and later have it)")
	}
	// Compared with the fresh pages' count, since the race detector's
	// shadow memory takes faults of its own in both.
	if got := touch(b); got > unmapped-pages+2 {
		t.Fatalf("writing %d prefaulted pages took %d faults (fresh ones: %d), want about %d fewer", pages, got, unmapped, pages)
	}
}

// prefault changes no byte, on mapped and unmapped pages alike, however b
// lines up with pages; and it maps no page that b shares with its
// neighbours.
func TestPrefaultKeepsContents(t *testing.T) {
	lockThread(t)
	region := freshPages(t, 16)
	pattern := bytes.Repeat([]byte("0123456789abcdef"), len(region)/16)
	// Pages 0–3 and 8–9 written, the others fresh (and zero).
	copy(region[:4*pageSize], pattern)
	copy(region[8*pageSize:10*pageSize], pattern[8*pageSize:])
	want := bytes.Clone(region)
	for _, r := range [][2]uintptr{{0, 16 * pageSize}, {1, 16*pageSize - 1}, {100, 3*pageSize + 7}, {2*pageSize + 1, 9 * pageSize}} {
		prefault(region[r[0]:r[1]])
		if !bytes.Equal(region, want) {
			t.Fatalf("prefault of bytes [%d, %d) changed the region", r[0], r[1])
		}
	}
	// Page 15 lies partly outside [1, 16·page-1) and was never written:
	// it must still be unmapped, so writing it faults.
	b := freshPages(t, 3)
	prefault(b[1 : 3*pageSize-1])
	before := minorFaults(t)
	b[0] = 1
	b[2*pageSize] = 1
	if got := minorFaults(t) - before; got < 2 {
		t.Fatalf("the partial first and last pages took %d faults when written, want 2: they were mapped", got)
	}
}

// Grow keeps b's bytes and gives room for n more, from b itself when it
// has the room.
func TestGrow(t *testing.T) {
	b := append(make([]byte, 0, 8), "abc"...)
	if g := Grow(b, 5); &g[0] != &b[0] || string(g) != "abc" {
		t.Fatalf("Grow within capacity: %q, same array %v", g, &g[0] == &b[0])
	}
	for _, n := range []int{6, PrefaultSize, PrefaultSize + 3} {
		g := Grow(b, n)
		if string(g) != "abc" || cap(g)-len(g) < n {
			t.Fatalf("Grow(%d): %q with room %d", n, g, cap(g)-len(g))
		}
	}
}

// lockThread keeps the test on one OS thread, whose fault count it reads.
func lockThread(t *testing.T) {
	runtime.LockOSThread()
	t.Cleanup(runtime.UnlockOSThread)
}

// BenchmarkFreshMiB copies 1 MiB into memory no one has touched yet (a new
// mapping each time, as a growing heap gets): with the first write
// faulting in each page ("touch"), and with the pages mapped first by
// prefault ("prefault"). Both map and unmap the same memory per message.
func BenchmarkFreshMiB(b *testing.B) {
	src := bytes.Repeat([]byte("kyneta"), (1<<20)/6+1)[:1<<20]
	for _, mode := range []string{"touch", "prefault"} {
		b.Run(mode, func(b *testing.B) {
			b.SetBytes(int64(len(src)))
			for b.Loop() {
				m, err := syscall.Mmap(-1, 0, len(src), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
				if err != nil {
					b.Fatal(err)
				}
				if mode == "prefault" {
					prefault(m)
				}
				copy(m, src)
				if err := syscall.Munmap(m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
