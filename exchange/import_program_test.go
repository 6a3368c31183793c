package exchange

import (
	"strings"
	"testing"

	"pgregory.net/rapid"

	"github.com/kyneta-go/kyneta/exchange/replica"
	"github.com/kyneta-go/kyneta/wire"
)

func TestPlanImportTable(t *testing.T) {
	v := replica.NewPlainVersion
	g := replica.Genesis
	now := epoch
	since := func(batches string) replica.Payload {
		return replica.Payload{Kind: wire.Since, Encoding: wire.JSON, Data: []byte(batches)}
	}
	whole := replica.Payload{Kind: wire.Entirety, Encoding: wire.JSON, Data: []byte(`{}`)}
	ts := func(ms int64) replica.Version { return replica.NewTimestampVersion(ms) }
	rows := []struct {
		name string
		in   importInput
		want importAction
	}{
		{"behind: synced", importInput{ours: v("L", 5), incoming: v("L", 3), payload: since(`[[1]]`)}, importSynced},
		{"equal: synced", importInput{ours: v("L", 5), incoming: v("L", 5), payload: since(`[[1]]`)}, importSynced},
		{"contiguous delta: merge", importInput{ours: v("L", 3), incoming: v("L", 5), payload: since(`[[1],[2]]`)}, importMerge},
		{"delta after a lost push: ask the gap", importInput{ours: v("L", 2), incoming: v("L", 5), payload: since(`[[1],[2]]`)}, importAskGap},
		{"duplicated old push: ask the gap", importInput{ours: v("L", 4), incoming: v("L", 5), payload: since(`[[1],[2]]`)}, importAskGap},
		{"fresh replica adopts a lineage", importInput{ours: v(g, 0), incoming: v("L", 7), payload: whole}, importAdopt},
		{"fresh replica, delta from the start: merge", importInput{ours: v(g, 0), incoming: v("L", 1), payload: since(`[[1]]`)}, importMerge},
		{"lineage boundary, ours wins: keep ours", importInput{ours: v("M", 9), incoming: v("L", 5), payload: whole}, importKeepOurs},
		{"lineage boundary, theirs wins: reset", importInput{ours: v("M", 3), incoming: v("L", 5), payload: whole}, importReset},
		{"lineage boundary, theirs wins, delta: ask entirety", importInput{ours: v("M", 3), incoming: v("L", 5), payload: since(`[[1]]`)}, importAskEntirety},
		{"synced peer compacted past us: reset", importInput{ours: v("L", 3), incoming: v("L", 9), payload: whole, wasSynced: true}, importReset},
		{"compaction rule does not apply to transient docs", importInput{ours: v("L", 3), incoming: v("L", 9), payload: whole, wasSynced: true, transient: true}, importMerge},
		{"set union merges whatever the lineages", importInput{ours: opaqueVersion(t, "a"), incoming: opaqueVersion(t, "b"), payload: whole, setUnion: true}, importMerge},
		{"counter at 2^53-1: refused", importInput{ours: v("L", 3), incoming: v("L", 1<<53-1), payload: whole}, importRefuse},
		{"counter jump above the limit: refused", importInput{ours: v("L", 3), incoming: v("M", 3+maxVersionJump+1), payload: whole}, importRefuse},
		{"counter jump at the limit: accepted", importInput{ours: v("M", 3), incoming: v("M", 3+maxVersionJump), payload: whole, wasSynced: true}, importReset},
		{"LWW timestamp within the skew: merge", importInput{ours: ts(now.UnixMilli()), incoming: ts(now.Add(maxClockSkew).UnixMilli()), payload: whole, now: now}, importMerge},
		{"LWW timestamp beyond the skew: refused", importInput{ours: ts(now.UnixMilli()), incoming: ts(now.Add(maxClockSkew).UnixMilli() + 1), payload: whole, now: now}, importRefuse},
		{"versions of different kinds: refused", importInput{ours: ts(1), incoming: v("L", 1), payload: whole, now: now}, importRefuse},
	}
	for _, r := range rows {
		if r.in.now.IsZero() {
			r.in.now = now
		}
		if got, why := planImport(r.in); got != r.want {
			t.Errorf("%s: got %d (%s), want %d", r.name, got, why, r.want)
		}
	}
}

// The ack test agrees with counting the batches (an ack is a since payload
// that makes no step) without scanning a change to its end.
func TestNoStepsAgreesWithCountBatches(t *testing.T) {
	for _, in := range []string{"[]", " [ ] ", "[\n]", "[]]", "[[]]", "[ 1 ]", "", "[", "]", " ", "[]x", "\u00a0[]", "[[]]", "[[],[]]", "[ [ 1 ] , [] ]", "[[1]", "[ [ ] ]"} {
		n, ok := countBatches([]byte(in))
		if want := ok && n == 0; noSteps([]byte(in)) != want {
			t.Errorf("%q: noSteps %v, countBatches %d %v", in, !want, n, ok)
		}
	}
	rapid.Check(t, func(t *rapid.T) {
		parts := rapid.SliceOf(rapid.SampledFrom([]string{"[", "]", "[[", "]]", " ", "\t", "\n", "\r", ",", "1", "\"a\"", "\"]\"", "{}", "x", "\u00a0"})).Draw(t, "parts")
		in := []byte(strings.Join(parts, ""))
		n, ok := countBatches(in)
		if want := ok && n == 0; noSteps(in) != want {
			t.Fatalf("%q: noSteps %v, countBatches %d %v", in, !want, n, ok)
		}
	})
}

// opaqueVersion parses an opaque relay's version stamp.
func opaqueVersion(t *testing.T, stamp string) replica.Version {
	v, err := replica.NewOpaqueFactory(wire.ReplicaType{Name: "loro", Major: 1}, replica.OpaqueOptions{}).ParseVersion(stamp)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
