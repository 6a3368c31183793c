package exchange

import (
	"context"
	"errors"

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
			return &Error{Code: CodeTransport, Msg: "flush " + t.ID(), Err: err}
		}
	}
	return ex.waitQuiet(ctx)
}

// Shutdown leaves gracefully: pending loads and writes finish, every peer
// gets depart, subscribers see every doc removed and every peer departed,
// transports are flushed and stopped, stores closed and policies disposed.
// Later calls fail with ErrClosed (Shutdown itself returns nil again). If
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
		ex.flushOutbox()
		ex.mu.Lock()
		for _, rt := range ex.runtimes {
			rt.destroyed = true
		}
		ex.runtimes = map[string]*docRuntime{}
		ex.deferred = map[string]DocMeta{}
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
			errs = append(errs, &Error{Code: CodeTransport, Msg: "flush " + t.ID(), Err: err})
		}
	}
	ex.mu.Lock()
	ex.closed = true // from here on transport callbacks and timers are ignored
	ts := ex.transports
	ex.transports = nil
	for w := range ex.waiters {
		w.err = &Error{Code: CodeClosed, DocID: w.doc}
		close(w.done)
	}
	ex.waiters = map[*syncWaiter]struct{}{}
	ex.mu.Unlock()
	ex.runner.Close() // queued inputs are dropped; later ones ignored
	for _, t := range ts {
		if err := t.Stop(ctx); err != nil {
			errs = append(errs, &Error{Code: CodeTransport, Msg: "stop " + t.ID(), Err: err})
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
