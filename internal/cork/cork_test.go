package cork

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"

	"go.uber.org/goleak"
	"pgregory.net/rapid"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// recorder keeps every write it is given, as the system calls they stand for.
type recorder struct {
	mu     sync.Mutex
	writes [][]byte
	err    error
}

func (r *recorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return 0, r.err
	}
	r.writes = append(r.writes, bytes.Clone(p))
	return len(p), nil
}

func (r *recorder) all() []byte { return bytes.Join(r.writes, nil) }

// Whatever the pieces and however they are corked, the destination gets
// the same bytes in the same order; a corked run costs at most one write
// per FlushAt bytes plus one per large piece, plus the final one. (A large
// piece behind pending bytes goes out as net.Buffers: one writev on a
// socket, but two writes on this recorder, which is a plain io.Writer.)
func TestWriterKeepsBytesAndBatches(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var rec recorder
		cw := New(&rec)
		var want []byte
		corked := false
		budget, extra := 0, 0 // writes a corked run may cost
		pending := 0          // bytes the writer holds
		n := rapid.IntRange(0, 60).Draw(t, "n")
		for i := range n {
			switch rapid.IntRange(0, 9).Draw(t, "op") {
			case 0:
				cw.Cork()
				if !corked {
					budget, extra = 0, 1
				}
				corked = true
			case 1:
				pending = 0
				before := len(rec.writes)
				if err := cw.Uncork(); err != nil {
					t.Fatal(err)
				}
				if corked && len(rec.writes)-before > 1 {
					t.Fatalf("uncork made %d writes", len(rec.writes)-before)
				}
				corked = false
			default:
				size := rapid.SampledFrom([]int{1, 100, 4096, direct - 1, direct, 40 << 10}).Draw(t, "size")
				p := bytes.Repeat([]byte{byte(i)}, size)
				before := len(rec.writes)
				if k, err := cw.Write(p); err != nil || k != size {
					t.Fatalf("Write = %d, %v", k, err)
				}
				want = append(want, p...)
				made := len(rec.writes) - before
				switch {
				case !corked && made != 1:
					t.Fatalf("an uncorked write made %d writes", made)
				case corked:
					budget += made
					switch {
					case size >= direct && pending > 0:
						extra, pending = extra+2, 0
					case size >= direct:
						extra++
					case pending+size >= FlushAt:
						pending = 0
					default:
						pending += size
					}
				}
				if corked && budget > extra+len(want)/FlushAt+1 {
					t.Fatalf("a corked run of %d bytes made %d writes", len(want), budget)
				}
			}
		}
		if err := cw.Uncork(); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(rec.all(), want) {
			t.Fatalf("destination got %d bytes, want %d (or in another order)", len(rec.all()), len(want))
		}
	})
}

// 1 MiB in 4 KiB pieces, as coder/websocket masks a client's frame: 16
// writes instead of 256, and the pending buffer never holds more than
// FlushAt.
func TestMaskedMessageInFewWrites(t *testing.T) {
	var rec recorder
	cw := New(&rec)
	cw.Cork()
	piece := bytes.Repeat([]byte{'x'}, 4096)
	for range 256 {
		if _, err := cw.Write(piece); err != nil {
			t.Fatal(err)
		}
		if len(*cw.buf) >= FlushAt {
			t.Fatalf("%d bytes pending", len(*cw.buf))
		}
	}
	if err := cw.Uncork(); err != nil {
		t.Fatal(err)
	}
	if len(rec.writes) != (1<<20)/FlushAt || len(rec.all()) != 1<<20 {
		t.Fatalf("%d writes, %d bytes", len(rec.writes), len(rec.all()))
	}
	if cw.buf != nil {
		t.Fatal("an uncorked writer keeps its buffer")
	}
}

// A destination's error surfaces from the write that met it, or from
// Uncork, and the pooled buffer is still given back.
func TestWriterErrors(t *testing.T) {
	boom := errors.New("boom")
	rec := &recorder{err: boom}
	cw := New(rec)
	if _, err := cw.Write([]byte("x")); !errors.Is(err, boom) {
		t.Fatalf("uncorked Write = %v", err)
	}
	cw.Cork()
	if _, err := cw.Write([]byte("x")); err != nil {
		t.Fatalf("a pending piece failed: %v", err)
	}
	if _, err := cw.Write(make([]byte, direct)); !errors.Is(err, boom) {
		t.Fatalf("a direct piece = %v", err)
	}
	if err := cw.Uncork(); err != nil {
		t.Fatalf("Uncork after the failed flush = %v (nothing was pending)", err)
	}
	cw.Cork()
	_, _ = cw.Write([]byte("y"))
	if err := cw.Uncork(); !errors.Is(err, boom) || cw.buf != nil {
		t.Fatalf("Uncork = %v, buffer kept %v", err, cw.buf != nil)
	}
}

// Writes from another goroutine (a library's control frames) while a
// batch is corked join it whole, never interleaved inside a piece.
func TestConcurrentWritesStayWhole(t *testing.T) {
	var rec recorder
	cw := New(&rec)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				if i%50 == 0 {
					cw.Cork()
				}
				_, _ = cw.Write(bytes.Repeat([]byte{byte('a' + g)}, 64))
				if i%50 == 49 {
					_ = cw.Uncork()
				}
			}
		}()
	}
	wg.Wait()
	_ = cw.Uncork()
	all := rec.all()
	if len(all) != 4*200*64 {
		t.Fatalf("%d bytes", len(all))
	}
	for i := 0; i < len(all); i += 64 {
		if !bytes.Equal(all[i:i+64], bytes.Repeat(all[i:i+1], 64)) {
			t.Fatalf("piece at %d interleaved", i)
		}
	}
}

func Example() {
	cw := New(os.Stdout)
	cw.Cork()
	fmt.Fprint(cw, "three ")
	fmt.Fprint(cw, "pieces, ")
	fmt.Fprint(cw, "one write\n")
	_ = cw.Uncork()
	// Output: three pieces, one write
}
