package sqlite

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/kyneta-go/kyneta"
	"github.com/kyneta-go/kyneta/exchange/internal/storeerr"
	"github.com/kyneta-go/kyneta/exchange/internal/storekit"
	"github.com/kyneta-go/kyneta/exchange/replica"
	"github.com/kyneta-go/kyneta/exchange/store"
	"github.com/kyneta-go/kyneta/wire"
)

func init() { childRoles["fsize-writer"] = fsizeWriter }

// fsizeEntry is write i of the file-size test: an entry at version "w<i>"
// padded so the file grows fast.
func fsizeEntry(i int, pad int) store.Record {
	data := fmt.Sprintf(`{"i":%d,"pad":%q}`, i, strings.Repeat("x", pad))
	return store.EntryRecord(replica.Payload{Kind: wire.Since, Encoding: wire.JSON, Data: []byte(data)}, "w"+strconv.Itoa(i))
}

// fsizeWriter is the child: args are the database path, a file size
// limit in bytes and a seed. Under that limit (RLIMIT_FSIZE, so a write
// past it fails with EFBIG as on a full disk) it appends write after
// write with AppendAfter, from where the stream ends, printing "ack wN"
// for each write the store confirmed. A failed write is retried with the
// same base: AppendAfter settles whether an earlier attempt landed. After
// three failures in a row it prints "full ERROR", lifts the limit (the
// disk has room again) and makes five more writes on the same store.
func fsizeWriter(args []string) int {
	if len(args) != 3 {
		fmt.Fprintln(os.Stderr, "want PATH LIMIT SEED")
		return exitFailed
	}
	limit, err1 := strconv.ParseUint(args[1], 10, 64)
	seed, err2 := strconv.ParseUint(args[2], 10, 64)
	if err1 != nil || err2 != nil {
		fmt.Fprintln(os.Stderr, "bad arguments", args)
		return exitFailed
	}
	// Without this the kernel's SIGXFSZ would kill the process instead of
	// failing the write.
	signal.Ignore(syscall.SIGXFSZ)
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &rl); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return exitFailed
	}
	rl.Cur = limit
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &rl); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return exitFailed
	}
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	s, err := Open(ctx, args[0], Options{})
	if err != nil {
		fmt.Fprintf(out, "full %s\n", oneLine(err))
		return exitOK
	}
	defer s.Close()
	rng := rand.New(rand.NewPCG(seed, 1))
	head, err := s.Head(ctx, "doc")
	if err != nil {
		fmt.Fprintf(out, "full %s\n", oneLine(err))
		return exitOK
	}
	next := 0
	if !head.Exists {
		if err := s.Replace(ctx, "doc", []store.Record{storekit.MetaRecord("")}); err != nil {
			fmt.Fprintf(out, "full %s\n", oneLine(err))
			return exitOK
		}
	} else if head.Version != "" {
		n, _ := strconv.Atoi(strings.TrimPrefix(head.Version, "w"))
		next = n + 1
	}
	confirmed := head.Version
	// The disk frees up after the first "full": the limit goes back up and
	// the same store, never reopened, takes five more writes.
	recovered, extra := false, 0
	for fails := 0; next < 2000 && extra < 5; {
		if fails == 3 {
			if recovered {
				break
			}
			recovered, fails = true, 0
			rl.Cur = rl.Max
			if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &rl); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return exitFailed
			}
		}
		rec := fsizeEntry(next, 100+rng.IntN(4000))
		err := s.AppendAfter(ctx, "doc", confirmed, []store.Record{rec})
		var he *store.HeadError
		switch {
		case err == nil:
		case errors.As(err, &he) && he.Head.Version == rec.Version:
			// An earlier attempt landed after all.
		case errors.As(err, &he):
			fmt.Fprintf(out, "bad-head %s\n", oneLine(err))
			return exitFailed
		default:
			if !errors.Is(err, &kyneta.Error{Pkg: "store", Reason: storeerr.WriteFailed}) || !store.Transient(err) {
				fmt.Fprintf(out, "untyped %s\n", oneLine(err))
				return exitFailed
			}
			fails++
			if fails == 3 {
				fmt.Fprintf(out, "full %s\n", oneLine(err))
			}
			continue
		}
		fmt.Fprintf(out, "ack %s\n", rec.Version)
		confirmed, fails = rec.Version, 0
		next++
		if recovered {
			extra++
		}
	}
	return exitOK
}

func oneLine(err error) string { return strings.ReplaceAll(err.Error(), "\n", " ") }

// fileSize is the size of the database or its WAL, whichever is larger:
// the file size limit applies to each file.
func fileSize(path string) int64 {
	var max int64
	for _, p := range []string{path, path + "-wal"} {
		if fi, err := os.Stat(p); err == nil && fi.Size() > max {
			max = fi.Size()
		}
	}
	return max
}

// The disk-full defect at the store level: a write that fails because the
// file cannot grow (a real file-system failure in a second process, with
// RLIMIT_FSIZE) is reported as an error, never confirmed; the store stays
// openable, holds every confirmed write once, in order, and nothing else.
func TestFileSizeLimitKeepsConfirmedWrites(t *testing.T) {
	sawFull, sawRecovery := 0, 0
	for seed := range uint64(4) {
		path := filepath.Join(t.TempDir(), "kyneta.db")
		rng := rand.New(rand.NewPCG(seed, 2))
		acked := -1 // highest confirmed write
		for round := range 3 {
			limit := fileSize(path) + 8192 + rng.Int64N(128<<10)
			cmd := child(t, "fsize-writer", path, strconv.FormatInt(limit, 10), strconv.FormatUint(seed*10+uint64(round), 10))
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("seed %d round %d: writer: %v\nstdout:\n%s\nstderr:\n%s", seed, round, err, stdout.String(), stderr.String())
			}
			full := false
			for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
				switch verb, arg, _ := strings.Cut(line, " "); verb {
				case "ack":
					n, err := strconv.Atoi(strings.TrimPrefix(arg, "w"))
					if err != nil || n != acked+1 {
						t.Fatalf("seed %d round %d: ack %q after w%d", seed, round, arg, acked)
					}
					acked = n
					if full {
						sawRecovery++
					}
				case "full":
					sawFull++
					full = true
				default:
					t.Fatalf("seed %d round %d: writer said %q", seed, round, line)
				}
			}

			// Reopen without a limit: every confirmed write, once, in
			// order; at most what the writer confirmed.
			s := openAt(t, path, Options{})
			recs, err := s.LoadAll(ctx, "doc")
			if err != nil {
				s.Close()
				t.Fatalf("seed %d round %d: load after the writer: %v", seed, round, err)
			}
			var entries []store.Record
			if len(recs) > 0 {
				entries = recs[1:]
			}
			t.Logf("seed %d round %d: limit %d, %d confirmed, writer said %q", seed, round, limit, acked+1, lastLine(stdout.String()))
			if len(entries) != acked+1 {
				s.Close()
				t.Fatalf("seed %d round %d: %d entries stored, %d confirmed", seed, round, len(entries), acked+1)
			}
			for i, r := range entries {
				if r.Version != "w"+strconv.Itoa(i) {
					s.Close()
					t.Fatalf("seed %d round %d: entry %d is %s", seed, round, i, r.Version)
				}
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if sawRecovery == 0 {
		t.Fatal("no writer confirmed a write after the limit was lifted")
	}
	if sawFull == 0 {
		t.Fatal("no writer ever hit the file size limit: the test injected nothing")
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
