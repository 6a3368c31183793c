package exchange

import (
	"testing"
)

// writeBurst makes n writes to d while a's dispatcher is busy, the way a
// writer that outruns the dispatcher does: every write is applied to the
// replica at once and its push waits in the queue.
func writeBurst(t *testing.T, a *Exchange, d *Doc, n int) {
	t.Helper()
	done := make(chan struct{})
	a.dispatch(funcMsg(func() {
		defer close(done)
		for i := range n {
			update(t, d, func(tx *Tx) { tx.Set(P("n"), i) })
		}
	}))
	<-done
}

// Defect: offers were built from the live replica while their baseline was
// the version at the queued write, so each of n queued pushes re-sent
// everything up to the latest version (O(n²) bytes). Offer bytes must stay
// within a small constant of the bytes written one at a time.
func TestQueuedWritesSendLinearOfferBytes(t *testing.T) {
	const writes = 400
	measure := func(burst bool) uint64 {
		n := newTestNet(t)
		a, b := n.peer("a"), n.peer("b")
		da := mustGet(t, a, "d", jsonDoc)
		db := mustGet(t, b, "d", jsonDoc)
		n.settle()
		before := a.Stats().OfferBytesSent
		if burst {
			writeBurst(t, a, da, writes)
		} else {
			for i := range writes {
				update(t, da, func(tx *Tx) { tx.Set(P("n"), i) })
				n.settle()
			}
		}
		n.settle()
		wantJSON(t, db, `{"n":399}`)
		if da.Version() != db.Version() {
			t.Fatalf("versions %s vs %s", da.Version(), db.Version())
		}
		return a.Stats().OfferBytesSent - before
	}
	oneByOne := measure(false)
	burst := measure(true)
	t.Logf("offer bytes: %d one by one, %d queued", oneByOne, burst)
	if oneByOne == 0 || burst > 2*oneByOne {
		t.Fatalf("queued writes sent %d offer bytes, one-by-one writes %d (want at most 2x)", burst, oneByOne)
	}
}
