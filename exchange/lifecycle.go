package exchange

import (
	"context"
	"errors"

	"github.com/kyneta-go/kyneta/transport"
	"github.com/kyneta-go/kyneta/wire"
)

// Flush waits until the exchange is quiet — the dispatcher idle, stores
// loaded and written — and the transports have handed queued messages to
// the wire.
func (ex *Exchange) Flush(ctx context.Context) error {
	if err := ex.waitQuiet(ctx); err != nil {
		return err
	}
	for _, t := range ex.Transports() {
		if err := t.Flush(ctx); err != nil {
			return newError(reasonTransport, "", "flush "+t.ID(), err)
		}
	}
	return ex.waitQuiet(ctx)
}

// Shutdown leaves gracefully: pending loads and writes finish, every peer
// gets depart, subscribers see every doc removed and every peer departed,
// transports are flushed and stopped, stores closed and policies disposed.
// Later calls fail with reason "closed" (Shutdown itself returns nil again). If
// ctx ends first the remaining steps still run, without waiting.
func (ex *Exchange) Shutdown(ctx context.Context) error {
	ex.mu.Lock()
	if ex.closing {
		ex.mu.Unlock()
		return nil
	}
	ex.closing = true
	ex.mu.Unlock()

	var errs []error
	if err := ex.waitQuiet(ctx); err != nil {
		errs = append(errs, err)
	}
	ex.dispatch(funcMsg(func() {
		// Depart on every channel of every peer, straight away.
		ex.cs().sess.peers.Range(func(_ string, p *sessionPeer) bool {
			if len(p.channels) > 0 {
				ex.sendTo(p.channels, &wire.Depart{})
			}
			return true
		})
		ex.mu.Lock()
		for _, rt := range ex.runtimes {
			rt.destroyed = true
		}
		ex.runtimes = map[string]*docRuntime{}
		ex.mu.Unlock()
		ex.stepSync(msgDocRemovedAll{})
		ex.stepSession(msgDepartAll{})
		for peer, stop := range ex.timers {
			stop()
			delete(ex.timers, peer)
		}
	}))
	if err := ex.waitQuiet(ctx); err != nil {
		errs = append(errs, err)
	}
	for _, t := range ex.Transports() {
		if err := t.Flush(ctx); err != nil {
			errs = append(errs, newError(reasonTransport, "", "flush "+t.ID(), err))
		}
	}
	ex.mu.Lock()
	ex.closed = true // from here on transport callbacks and timers are ignored
	ts := ex.transports
	ex.transports = nil
	for w := range ex.waiters {
		w.err = newError(reasonClosed, w.doc, "", nil)
		close(w.done)
	}
	ex.waiters = map[*syncWaiter]struct{}{}
	ex.mu.Unlock()
	ex.runner.Close() // queued inputs are dropped; later ones ignored
	for _, t := range ts {
		if err := t.Stop(ctx); err != nil {
			errs = append(errs, newError(reasonTransport, "", "stop "+t.ID(), err))
		}
	}
	// Background jobs started before closed are still accounted for.
	if err := ex.waitQuiet(ctx); err != nil {
		errs = append(errs, err)
	}
	ex.bgCancel()
	for _, s := range ex.stores {
		if err := s.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := ex.pol.clear(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Reset tears the exchange down without a goodbye and leaves it ready for
// use again (the reference's reset, for hot reloads and tests that reuse
// one exchange). It waits for loads and store writes in flight (the
// reference did not; a write it abandoned was lost), then stops and
// forgets every transport without sending depart, so peers keep this one
// in their departure grace period; subscribers see every document removed
// and every peer departed; timers stop, policies are disposed, and the
// protocol state starts over (channel ids from 1). Stores stay attached
// and keep their data: a later Get loads the document again. It returns
// the errors of stopping transports and of policy disposers. Do not call
// it from a subscriber callback or concurrently with Shutdown.
func (ex *Exchange) Reset(ctx context.Context) error {
	ex.mu.Lock()
	if ex.closed || ex.closing {
		ex.mu.Unlock()
		return newError(reasonClosed, "", "", nil)
	}
	ts := ex.transports
	ex.transports = nil
	ex.mu.Unlock()

	var errs []error
	if err := ex.waitQuiet(ctx); err != nil {
		errs = append(errs, err)
	}
	for _, t := range ts {
		if err := t.Stop(ctx); err != nil {
			errs = append(errs, newError(reasonTransport, "", "stop "+t.ID(), err))
		}
	}
	if err := ex.waitQuiet(ctx); err != nil {
		errs = append(errs, err)
	}
	ex.dispatch(funcMsg(func() {
		ex.mu.Lock()
		for _, rt := range ex.runtimes {
			rt.destroyed = true
		}
		ex.runtimes = map[string]*docRuntime{}
		ex.channels = map[transport.ChannelID]*transport.Channel{}
		ex.pressure = map[transport.ChannelID]bool{}
		ex.mu.Unlock()
		ex.stepSync(msgDocRemovedAll{})
		ex.stepSession(msgDepartAll{})
		for key, stop := range ex.timers {
			stop()
			delete(ex.timers, key)
		}
		clear(ex.afterDelete)
	}))
	// The tick behind it delivers the synthetic events before the state
	// starts over.
	if err := ex.waitQuiet(ctx); err != nil {
		errs = append(errs, err)
	}
	ex.dispatch(coreResetMsg{})
	if err := ex.waitQuiet(ctx); err != nil {
		errs = append(errs, err)
	}
	ex.nextCh.Store(0)
	if err := ex.pol.clear(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
