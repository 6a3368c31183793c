package exchange

import (
	"errors"
	"sync"
	"sync/atomic"

	"github.com/kyneta-go/kyneta/wire"
)

// Verdict is a policy gate's answer. Gates compose over every registered
// policy: any Deny denies (evaluation stops there); otherwise the gate is
// open — Allow and Abstain only differ for readability.
type Verdict int8

// Gate answers.
const (
	Abstain Verdict = iota
	Allow
	Deny
)

// ResolveRequest describes a document a peer announced that the exchange
// does not hold and no registered DocType matches.
type ResolveRequest struct {
	DocID string
	Peer  wire.PeerIdentity
	Meta  DocMeta
}

// Resolution is a resolve policy's answer; the zero value means "no
// answer" (the next policy is asked).
type Resolution struct {
	kind    resolutionKind
	docType DocType
}

type resolutionKind uint8

const (
	resolveNone resolutionKind = iota
	resolveInterpret
	resolveReplicate
	resolveDefer
	resolveReject
)

// Interpret answers: hold the document with a local replica of type t, as
// if Get(docID, t) had been called.
func Interpret(t DocType) Resolution { return Resolution{kind: resolveInterpret, docType: t} }

// Replicate answers: hold the document headless (store and relay it) with
// the replica factory registered for its replica type and sync mode. With
// no such factory the peer gets vacant.
func Replicate() Resolution { return Resolution{kind: resolveReplicate} }

// Defer answers: remember the document without data; a later Get or
// Replicate promotes it. Interests for a deferred doc are answered vacant.
func Defer() Resolution { return Resolution{kind: resolveDefer} }

// Reject answers: the announcing peer gets vacant.
func Reject() Resolution { return Resolution{kind: resolveReject} }

// Policy is a bundle of optional gates and a resolver. Gates are evaluated
// live on every decision, inside the exchange's dispatcher: they must be
// fast and must not call the exchange.
type Policy struct {
	// Name identifies the policy; registering a name that exists replaces
	// the old policy in place (same evaluation position) and disposes it.
	Name string
	// CanShare gates whether a document's existence, versions and data are
	// revealed to a peer: presents, pushes, relays, dismisses, answers to
	// interest and reactions to present. Denial answers vacant.
	CanShare func(docID string, peer wire.PeerIdentity) Verdict
	// CanAccept gates importing a peer's offer.
	CanAccept func(docID string, peer wire.PeerIdentity) Verdict
	// CanReset gates replacing local state with a peer's entirety when the
	// lineages diverged or the peer compacted past us.
	CanReset func(docID string, peer wire.PeerIdentity) Verdict
	// CanConnect gates a peer's establish. A denied peer's channel is
	// closed. req.Meta carries what the transport knows about the remote
	// end (the WebSocket server's authenticated principal), so the claimed
	// peer id can be checked against it.
	CanConnect func(req ConnectRequest) Verdict
	// Resolve classifies a document a peer announced that no registered
	// DocType matches. The first policy with an answer wins.
	Resolve func(req ResolveRequest) Resolution
	// Dispose runs once when the policy is unregistered, replaced, or the
	// exchange shuts down.
	Dispose func() error
}

type policyEntry struct {
	id  uint64
	p   Policy
	off atomic.Bool
}

// policies is the live, ordered policy set. Reads are lock-free snapshots
// (gates run inside the dispatcher); writes copy the slice.
type policies struct {
	mu   sync.Mutex
	next uint64
	list atomic.Pointer[[]*policyEntry]
}

func (ps *policies) snapshot() []*policyEntry {
	if l := ps.list.Load(); l != nil {
		return *l
	}
	return nil
}

// register adds p (or replaces the policy with the same name in place) and
// returns its disposer.
func (ps *policies) register(p Policy) func() error {
	ps.mu.Lock()
	ps.next++
	e := &policyEntry{id: ps.next, p: p}
	old := ps.snapshot()
	list := make([]*policyEntry, 0, len(old)+1)
	var replaced *policyEntry
	for _, x := range old {
		if p.Name != "" && x.p.Name == p.Name && replaced == nil {
			replaced = x
			list = append(list, e)
			continue
		}
		list = append(list, x)
	}
	if replaced == nil {
		list = append(list, e)
	}
	ps.list.Store(&list)
	ps.mu.Unlock()
	if replaced != nil {
		_ = disposeEntry(replaced)
	}
	return func() error { return ps.remove(e) }
}

func (ps *policies) remove(e *policyEntry) error {
	ps.mu.Lock()
	old := ps.snapshot()
	list := make([]*policyEntry, 0, len(old))
	for _, x := range old {
		if x != e {
			list = append(list, x)
		}
	}
	ps.list.Store(&list)
	ps.mu.Unlock()
	return disposeEntry(e)
}

func disposeEntry(e *policyEntry) error {
	if !e.off.CompareAndSwap(false, true) || e.p.Dispose == nil {
		return nil
	}
	return e.p.Dispose()
}

// clear empties the set, then runs every disposer (they may register new
// policies safely) and joins their errors.
func (ps *policies) clear() error {
	ps.mu.Lock()
	old := ps.snapshot()
	ps.list.Store(&[]*policyEntry{})
	ps.mu.Unlock()
	var errs []error
	for _, e := range old {
		if err := disposeEntry(e); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return newError(reasonDispose, "", "", errors.Join(errs...))
}

// allow composes one gate of the registered policies: a request passes
// unless one of them denies it (a policy without the gate abstains).
func (ps *policies) allow(ask func(Policy) Verdict) bool {
	for _, e := range ps.snapshot() {
		if ask(e.p) == Deny {
			return false
		}
	}
	return true
}

// askDoc asks a per-document gate (nil: abstain).
func askDoc(gate func(string, wire.PeerIdentity) Verdict, doc string, peer wire.PeerIdentity) Verdict {
	if gate == nil {
		return Abstain
	}
	return gate(doc, peer)
}

// resolve returns the first answer in registration order.
func (ps *policies) resolve(req ResolveRequest) Resolution {
	for _, e := range ps.snapshot() {
		if f := e.p.Resolve; f != nil {
			if r := f(req); r.kind != resolveNone {
				return r
			}
		}
	}
	return Resolution{}
}
