package exchange

import (
	"fmt"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// TestRandomConvergence drives three exchanges on a faulty bridge through
// random writes, partitions, disconnects, dropped and duplicated messages
// and clock jumps, then heals everything and checks that every peer holds
// the same state of every document. Each authoritative doc has one writer
// (concurrent writers on one authoritative doc are unsupported by design);
// the ephemeral doc is written by everyone. (It converges because an LWW
// merge keeps the writer's timestamp; the reference stamped merges with the
// receiver's clock, §10.3 item 5, and a late merge could tie with a newer
// write forever.)
func TestRandomConvergence(t *testing.T) {
	peers := []string{"p0", "p1", "p2"}
	rapid.Check(t, func(rt *rapid.T) {
		n := newTestNet(t)
		n.t = t
		exs := map[string]*Exchange{}
		docs := map[string]map[string]*Doc{}
		for _, p := range peers {
			exs[p] = n.peer(p)
			docs[p] = map[string]*Doc{}
			for i := range peers {
				docs[p][fmt.Sprint("auth-", i)] = mustGet(t, exs[p], fmt.Sprint("auth-", i), jsonDoc)
			}
			docs[p]["eph"] = mustGet(t, exs[p], "eph", ephDoc)
		}
		n.settle()
		counter := 0
		pair := func(rt *rapid.T) (string, string) {
			a := rapid.IntRange(0, 2).Draw(rt, "a")
			b := (a + 1 + rapid.IntRange(0, 1).Draw(rt, "b")) % 3
			return peers[a], peers[b]
		}
		steps := rapid.IntRange(5, 40).Draw(rt, "steps")
		for s := 0; s < steps; s++ {
			switch rapid.IntRange(0, 7).Draw(rt, "action") {
			case 0, 1: // the owner writes its authoritative doc
				i := rapid.IntRange(0, 2).Draw(rt, "owner")
				counter++
				c := counter
				update(t, docs[peers[i]][fmt.Sprint("auth-", i)], func(tx *Tx) {
					tx.Set(P("n"), c)
					tx.MapSet(P("log"), fmt.Sprint("k", c%4), c)
				})
			case 2: // anyone writes the ephemeral doc
				p := peers[rapid.IntRange(0, 2).Draw(rt, "writer")]
				counter++
				c := counter
				n.clk.Advance(time.Millisecond)
				update(t, docs[p]["eph"], func(tx *Tx) { tx.Set(P("by"), p); tx.Set(P("c"), c) })
			case 3:
				a, b := pair(rt)
				n.bridge.Partition(a, b)
			case 4:
				a, b := pair(rt)
				n.bridge.Heal(a, b)
			case 5:
				a, b := pair(rt)
				n.bridge.DropNext(a, b, rapid.IntRange(1, 2).Draw(rt, "drops"))
			case 6:
				a, b := pair(rt)
				n.bridge.DuplicateNext(a, b, rapid.IntRange(1, 3).Draw(rt, "dups"))
			case 7:
				p := peers[rapid.IntRange(0, 2).Draw(rt, "who")]
				if n.bridge.Connected(p, peers[(indexOf(peers, p)+1)%3]) || n.bridge.Connected(p, peers[(indexOf(peers, p)+2)%3]) {
					n.bridge.Disconnect(p)
				} else {
					n.bridge.Reconnect(p)
				}
			}
			n.settle()
		}
		// Heal everything. A message dropped at the very end is never
		// followed by another push, so every peer reconnects once: the
		// protocol resyncs from versions on reconnect.
		n.bridge.ClearFaults()
		for i := range peers {
			for j := i + 1; j < len(peers); j++ {
				n.bridge.Heal(peers[i], peers[j])
			}
		}
		for _, p := range peers {
			n.bridge.Disconnect(p)
			n.settle()
			n.bridge.Reconnect(p)
			n.settle()
		}
		for id := range docs[peers[0]] {
			want := jsonOf(t, docs[peers[0]][id])
			for _, p := range peers[1:] {
				if got := jsonOf(t, docs[p][id]); got != want {
					rt.Fatalf("doc %s: %s has %s, %s has %s", id, peers[0], want, p, got)
				}
			}
		}
		for i := range peers {
			id := fmt.Sprint("auth-", i)
			v := docs[peers[i]][id].Version()
			for _, p := range peers {
				if got := docs[p][id].Version(); got != v {
					rt.Fatalf("doc %s: %s at %s, owner at %s", id, p, got, v)
				}
			}
		}
		for _, p := range peers {
			n.stop(p)
		}
	})
}

func indexOf(xs []string, x string) int {
	for i, y := range xs {
		if y == x {
			return i
		}
	}
	return -1
}
