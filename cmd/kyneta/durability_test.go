//go:build unix

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kyneta-go/kyneta/exchange"
	"github.com/kyneta-go/kyneta/exchange/store"
	"github.com/kyneta-go/kyneta/exchange/store/sqlite"
)

// The durability test runs a writer in a child process (this test binary,
// re-executed with childEnv set), kills it with SIGKILL at seeded random
// points and checks after every kill that the SQLite file opens cleanly
// and holds every write the child acknowledged. The child acknowledges a
// write only after exchange.Flush returned with no store error reported,
// which is the promise an embedding service relies on.

const (
	durabilitySchema = "kyneta-durability"
	durabilityRounds = 24
	// Each round writes keys from its own range, so a key's value names
	// the round and write that produced it.
	writesPerRound = 1000
	// durabilitySeedEnv overrides the seed to explore other kill points.
	durabilitySeedEnv = "KYNETA_DURABILITY_SEED"
)

var durabilityDocs = []string{"dur/a", "dur/b", "dur/c"}

func init() { childRoles["durability-writer"] = durabilityWriter }

// durabilityWriter is the child: args are the database path, a seed and
// the first write index. It prints "opening" before it opens the file and
// "ready" once it holds the documents, then writes batches of 1–3 keys
// across the documents, flushes, and prints "ack DOC KEY VALUE" for each
// write of the batch.
//
// Depending on the seed it either waits for the stored documents to load
// (Flush after Get) before its first write, or writes at once, while they
// are still loading (TestWriteWhileLoadingIsKept is that case made exact).
func durabilityWriter(args []string) int {
	fail := func(format string, a ...any) int {
		fmt.Fprintf(os.Stderr, "durability writer: "+format+"\n", a...)
		return 1
	}
	if len(args) != 3 {
		return fail("want PATH SEED START, got %q", args)
	}
	seed, err1 := strconv.ParseUint(args[1], 10, 64)
	start, err2 := strconv.Atoi(args[2])
	if err1 != nil || err2 != nil {
		return fail("bad arguments %q", args)
	}
	ctx := context.Background()
	if _, err := io.WriteString(os.Stdout, "opening\n"); err != nil {
		return fail("stdout: %v", err)
	}
	st, err := sqlite.Open(ctx, args[0], sqlite.Options{})
	if err != nil {
		return fail("open store: %v", err)
	}
	var mu sync.Mutex
	var storeErrs []string
	ex, err := exchange.New(exchange.Options{
		PeerID: "durability-writer",
		Stores: []store.Store{st},
		OnStoreError: func(doc, op string, err error) {
			mu.Lock()
			storeErrs = append(storeErrs, fmt.Sprintf("%s %s: %v", op, doc, err))
			mu.Unlock()
		},
	})
	if err != nil {
		return fail("exchange: %v", err)
	}
	docs := make([]*exchange.Doc, len(durabilityDocs))
	for i, id := range durabilityDocs {
		if docs[i], err = ex.Get(id, exchange.JSONDoc(durabilitySchema)); err != nil {
			return fail("get %s: %v", id, err)
		}
	}
	rng := rand.New(rand.NewPCG(seed, uint64(start)))
	if rng.IntN(2) == 0 {
		lctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		err = ex.Flush(lctx)
		cancel()
		if err != nil {
			return fail("load: %v", err)
		}
	}
	if _, err := io.WriteString(os.Stdout, "ready\n"); err != nil {
		return fail("stdout: %v", err)
	}
	for n := start; n < start+writesPerRound; {
		var acks strings.Builder
		for range 1 + rng.IntN(3) {
			d := docs[rng.IntN(len(docs))]
			key, v := "k"+strconv.Itoa(n), n
			if err := d.Update(func(tx *exchange.Tx) error { tx.Set(exchange.P(key), v); return nil }); err != nil {
				return fail("update: %v", err)
			}
			fmt.Fprintf(&acks, "ack %s %s %d\n", d.ID(), key, v)
			n++
		}
		fctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		err := ex.Flush(fctx)
		cancel()
		if err != nil {
			return fail("flush: %v", err)
		}
		mu.Lock()
		errs := storeErrs
		mu.Unlock()
		if len(errs) > 0 {
			return fail("store errors: %s", strings.Join(errs, "; "))
		}
		// One write: a batch's acks reach the pipe whole or not at all.
		if _, err := io.WriteString(os.Stdout, acks.String()); err != nil {
			return fail("stdout: %v", err)
		}
	}
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := ex.Shutdown(sctx); err != nil {
		return fail("shutdown: %v", err)
	}
	return 0
}

// ackSet maps doc -> key -> value of every acknowledged write.
type ackSet map[string]map[string]int

func (a ackSet) add(line string) error {
	f := strings.Fields(line)
	if len(f) != 4 || f[0] != "ack" {
		return fmt.Errorf("unexpected line %q", line)
	}
	v, err := strconv.Atoi(f[3])
	if err != nil {
		return fmt.Errorf("unexpected line %q", line)
	}
	if a[f[1]] == nil {
		a[f[1]] = map[string]int{}
	}
	a[f[1]][f[2]] = v
	return nil
}

func (a ackSet) count() int {
	n := 0
	for _, m := range a {
		n += len(m)
	}
	return n
}

func durabilitySeed(t *testing.T) uint64 {
	seed := uint64(0x6b796e657461) // fixed: the test is deterministic in its kill schedule
	if s := os.Getenv(durabilitySeedEnv); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("%s=%q: %v", durabilitySeedEnv, s, err)
		}
		seed = v
	}
	t.Logf("seed %d (set %s to change it)", seed, durabilitySeedEnv)
	return seed
}

func TestDurabilityKill9(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rng := rand.New(rand.NewPCG(durabilitySeed(t), 0))
	path := filepath.Join(t.TempDir(), "durability.db")
	acked := ackSet{}
	killedEarly, killedAfterAcks := 0, 0
	for round := range durabilityRounds {
		// -2: kill at once (process start-up); -1: as the store is being
		// opened; 0: as soon as the writer holds the documents; k: right after
		// the k-th ack, which lands somewhere in the next batch's update,
		// flush or commit.
		killAfter := rng.IntN(15) - 2
		if killAfter <= 0 {
			killedEarly++
		} else {
			killedAfterAcks++
		}
		before := acked.count()
		runKilledWriter(ctx, t, path, rng.Uint64(), round*writesPerRound, killAfter, acked)
		verifyDurable(ctx, t, round, path, acked)
		t.Logf("round %d: killed after %d acks requested, %d acked writes so far (+%d)", round, killAfter, acked.count(), acked.count()-before)
	}
	if killedEarly == 0 || killedAfterAcks == 0 || acked.count() == 0 {
		t.Fatalf("schedule did not cover both kinds of kill points (early %d, after acks %d, acks %d)", killedEarly, killedAfterAcks, acked.count())
	}
}

// runKilledWriter starts the writer, SIGKILLs it after killAfter acks
// (-2: immediately, -1: on "opening", 0: on "ready") and records every ack
// it printed, including those that raced with the kill.
func runKilledWriter(ctx context.Context, t *testing.T, path string, seed uint64, start, killAfter int, acked ackSet) {
	t.Helper()
	cmd := exec.CommandContext(ctx, os.Args[0], path, strconv.FormatUint(seed, 10), strconv.Itoa(start))
	cmd.Env = append(os.Environ(), childEnv+"=durability-writer")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	record := func(line string) {
		if line == "ready" || line == "opening" {
			return
		}
		if err := acked.add(line); err != nil {
			t.Error(err)
		}
	}
	seen := 0
	if killAfter > -2 {
	wait:
		for {
			select {
			case line, ok := <-lines:
				if !ok {
					break wait // exited by itself: Wait below reports why
				}
				record(line)
				switch {
				case line == "opening":
					if killAfter == -1 {
						break wait
					}
				case line == "ready":
					if killAfter == 0 {
						break wait
					}
				default:
					if seen++; seen >= killAfter {
						break wait
					}
				}
			case <-ctx.Done():
				break wait
			}
		}
	}
	_ = cmd.Process.Kill()
	for line := range lines {
		record(line)
	}
	err = cmd.Wait()
	if ctx.Err() != nil {
		t.Fatalf("durability test ran out of time: %v\nchild stderr:\n%s", ctx.Err(), stderr.String())
	}
	if err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("writer did not end by SIGKILL: %v\nchild stderr:\n%s", err, stderr.String())
	}
}

// lockedBuffer collects log output written from several goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// verifyDurable opens the file the way a restarted service would and
// checks that it opens cleanly (no error, no skipped row, no diagnostic)
// and that every acknowledged write is there with its value.
func verifyDurable(ctx context.Context, t *testing.T, round int, path string, acked ackSet) {
	t.Helper()
	var logs lockedBuffer
	st, err := sqlite.Open(ctx, path, sqlite.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatalf("round %d: the store does not reopen after SIGKILL: %v", round, err)
	}
	ids, err := st.ListDocIDs(ctx, "")
	if err != nil {
		st.Close()
		t.Fatalf("round %d: list documents: %v", round, err)
	}
	var mu sync.Mutex
	var problems []string
	note := func(s string) {
		mu.Lock()
		problems = append(problems, s)
		mu.Unlock()
	}
	ex, err := exchange.New(exchange.Options{
		PeerID:       "durability-verifier",
		Stores:       []store.Store{st},
		OnDiagnostic: func(d exchange.Diagnostic) { note(fmt.Sprintf("diagnostic %s: %s %v", d.Reason, d.Message, d.Err)) },
		OnStoreError: func(doc, op string, err error) { note(fmt.Sprintf("store %s %s: %v", op, doc, err)) },
	})
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := ex.Shutdown(sctx); err != nil {
			t.Errorf("round %d: verifier shutdown: %v", round, err)
		}
	}()
	// Only documents the file holds are opened: Get on a missing one would
	// register it and change the file under test.
	docs := map[string]*exchange.Doc{}
	for _, id := range ids {
		d, err := ex.Get(id, exchange.JSONDoc(durabilitySchema))
		if err != nil {
			t.Fatalf("round %d: get %s: %v", round, id, err)
		}
		docs[id] = d
	}
	if err := ex.Flush(ctx); err != nil {
		t.Fatalf("round %d: load: %v", round, err)
	}
	var lost []string
	for _, id := range slices.Sorted(mapsKeys(acked)) {
		d := docs[id]
		if d == nil {
			lost = append(lost, fmt.Sprintf("%s: the whole document (%d acked writes)", id, len(acked[id])))
			continue
		}
		var got map[string]json.Number
		b, err := d.JSON()
		if err == nil {
			dec := json.NewDecoder(bytes.NewReader(b))
			dec.UseNumber()
			err = dec.Decode(&got)
		}
		if err != nil {
			t.Fatalf("round %d: decode %s: %v", round, id, err)
		}
		for key, v := range acked[id] {
			if g, ok := got[key]; !ok || g.String() != strconv.Itoa(v) {
				lost = append(lost, fmt.Sprintf("%s.%s=%d (found %q)", id, key, v, g))
			}
		}
	}
	if len(lost) > 0 {
		slices.Sort(lost)
		t.Errorf("round %d: %d acknowledged writes lost after SIGKILL and reopen:\n  %s", round, len(lost), strings.Join(lost, "\n  "))
	}
	mu.Lock()
	defer mu.Unlock()
	if len(problems) > 0 {
		t.Errorf("round %d: reopening was not clean:\n  %s", round, strings.Join(problems, "\n  "))
	}
	if s := logs.String(); s != "" {
		t.Errorf("round %d: the store logged while loading:\n%s", round, s)
	}
}

func mapsKeys[M ~map[string]V, V any](m M) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}
