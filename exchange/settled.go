package exchange

import (
	"context"
	"time"

	"github.com/kyneta-go/kyneta/wire"
)

// SettledVia says how a document settled (Doc.Settled).
type SettledVia string

// How a document settles.
const (
	// SettledLocal: the exchange has no transports; the local copy is all
	// there is.
	SettledLocal SettledVia = "local"
	// SettledPeer: a connected peer answered vacant, or is synced and our
	// copy holds what it had (as WaitForSync); or the readiness latch is
	// set and no peer is connected now.
	SettledPeer SettledVia = "peer"
	// SettledOffline: no peer answered within offlineAfter.
	SettledOffline SettledVia = "offline"
)

// Settled waits until the document settled and says how: at once
// SettledLocal without transports, SettledPeer once the readiness latch is
// set, SettledOffline when offlineAfter passes first (on the exchange's
// clock; zero waits for a peer until ctx ends). It fails only when ctx
// ends or the document is gone. Offline-first UIs use it to show local
// data at once and mark it "offline" instead of spinning forever.
func (d *Doc) Settled(ctx context.Context, offlineAfter time.Duration) (SettledVia, error) {
	if err := d.check(); err != nil {
		return "", err
	}
	if len(d.ex.Transports()) == 0 {
		return SettledLocal, nil
	}
	doc := d.rt.id
	parent := ctx
	if offlineAfter > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		defer cancel()
		stop := d.ex.clock.AfterFunc(offlineAfter, cancel)
		defer stop()
	}
	rt := d.rt
	err := d.wait(ctx, func(s *syncState, sess *sessionState) (bool, error) {
		return settledViaPeer(doc, rt.factory.ParseVersion, rt.currentVersion, s, sess), nil
	}, newError(reasonSyncTimeout, doc, "waiting for the document to settle", nil))
	switch {
	case err == nil:
		return SettledPeer, nil
	case parent.Err() == nil && ctx.Err() != nil:
		return SettledOffline, nil // our offlineAfter timer, not the caller
	}
	return "", err
}

// ReadyFor is the readiness latch restricted to peers whose identity
// matches pred (for example service peers: a client that must have heard
// from its server, not just from another client).
func (d *Doc) ReadyFor(pred func(wire.PeerIdentity) bool) bool {
	latch, ok := d.ex.cs().sync.reconciled.Get(d.rt.id)
	if !ok {
		return false
	}
	found := false
	latch.Range(func(_ string, id wire.PeerIdentity) bool {
		found = pred(id)
		return !found
	})
	return found
}
