package rawbuf

import (
	"bytes"
	"testing"
)

func TestAllocCapacityAndContent(t *testing.T) {
	for _, n := range []int{0, 1, minSize - 1, minSize, minSize + 1, 1 << 20, 1<<20 + 3} {
		b := Alloc(n)
		if len(b) != 0 || cap(b) != n {
			t.Fatalf("Alloc(%d): len %d cap %d, want 0 and %d", n, len(b), cap(b), n)
		}
		want := bytes.Repeat([]byte("kyneta"), n/6+1)[:n]
		b = append(b, want...)
		if !bytes.Equal(b, want) {
			t.Fatalf("Alloc(%d): appended bytes do not read back", n)
		}
	}
}

// Two buffers must never share memory: each is its own allocation.
func TestAllocReturnsDistinctArrays(t *testing.T) {
	a := append(Alloc(minSize), make([]byte, minSize)...)
	b := append(Alloc(minSize), bytes.Repeat([]byte{1}, minSize)...)
	if a[0] != 0 || b[0] != 1 || &a[0] == &b[0] {
		t.Fatal("buffers share memory")
	}
}

func BenchmarkAlloc1MiB(b *testing.B) {
	src := bytes.Repeat([]byte{7}, 1<<20)
	b.Run("make", func(b *testing.B) {
		b.SetBytes(int64(len(src)))
		for b.Loop() {
			_ = append(make([]byte, 0, len(src)), src...)
		}
	})
	b.Run("rawbuf", func(b *testing.B) {
		b.SetBytes(int64(len(src)))
		for b.Loop() {
			_ = append(Alloc(len(src)), src...)
		}
	})
}
