package exchange

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kyneta-go/kyneta"
	"github.com/kyneta-go/kyneta/clock"
	"github.com/kyneta-go/kyneta/exchange/replica"
	"github.com/kyneta-go/kyneta/exchange/store"
	"github.com/kyneta-go/kyneta/machine"
	"github.com/kyneta-go/kyneta/schema"
	"github.com/kyneta-go/kyneta/transport"
	"github.com/kyneta-go/kyneta/wire"
)

// Departure timeouts with a special meaning for Options.DepartureTimeout.
const (
	// DepartImmediately: a peer whose last channel drops departs at once.
	DepartImmediately time.Duration = -1
	// DepartNever: a peer whose last channel drops stays (disconnected)
	// until it departs explicitly or the exchange shuts down.
	DepartNever time.Duration = math.MaxInt64
)

// Defaults of the Options fields documented with them.
const (
	defaultBudget              = 100_000
	defaultMaxDocsPerPeer      = 100_000
	defaultMaxDocsPerPrincipal = 1_000_000
	defaultMaxInboundQueue     = 10_000
)

// Wire limits (§10.1).
const (
	maxDocIDBytes      = 512
	maxSchemaHashBytes = 256
)

// Options configure an Exchange. Only PeerID is required.
type Options struct {
	// PeerID identifies this participant. It must be stable across
	// restarts and unique among live peers.
	PeerID string
	// Name is an optional display name sent in establish.
	Name string
	// PeerType is "user" (default), "bot" or "service".
	PeerType wire.PeerType

	// Transports are initialized and started by New.
	Transports []transport.Transport
	// Stores persist documents: reads hit the first store that has a doc,
	// writes go to all of them. The exchange owns them and closes them on
	// Shutdown.
	Stores []store.Store
	// Policies are registered in order (see Register).
	Policies []Policy
	// DocTypes are interpreted automatically when a peer announces a doc
	// whose schema hash, replica type and sync mode match one of them.
	DocTypes []DocType
	// Replicas are the factories used to hold announced documents headless
	// (Replicate). Nil means the built-ins: plain/AUTHORITATIVE,
	// LWW/EPHEMERAL and state/EPHEMERAL.
	Replicas []replica.Bound

	// Clock drives departure timers and LWW timestamps. Nil: the wall clock.
	Clock clock.Clock
	// Rand is the randomness plain lineages are minted from. Nil: crypto/rand.
	Rand io.Reader
	// Logger receives diagnostics and store errors. Nil discards.
	Logger *slog.Logger
	// OnDiagnostic, if set, receives every diagnostic, on the dispatching
	// goroutine. It must not block; it may call the exchange.
	OnDiagnostic func(Diagnostic)
	// OnMessage, if set, sees every protocol message the exchange sends
	// (once per channel) or receives: a trace hook for debugging, devtools
	// and tests. It runs on the sending or receiving goroutine, must not
	// block, and must not modify or keep the message.
	OnMessage func(MessageEvent)
	// OnStoreError, if set, receives store failures (op is "append",
	// "delete", "load").
	OnStoreError func(docID, op string, err error)
	// DepartureTimeout is how long a disconnected peer is kept before it
	// departs. Zero means 30s; see DepartImmediately and DepartNever.
	DepartureTimeout time.Duration
	// Budget is how many messages one dispatch drain may process before
	// the exchange reports a runaway cascade. Zero means 100,000; negative
	// disables the check.
	Budget int
	// MaxInboundQueue bounds the messages waiting for the dispatcher: a
	// transport that delivers a message while more are queued waits until
	// the dispatcher caught up, which stops reading its socket. Transports
	// must therefore deliver from goroutines of their own, never from
	// inside another exchange's Send (every transport in this module
	// does). Zero means 10,000: far above what a legitimate burst queues
	// (a 10,000-doc client's present is 10 messages), far below what
	// exhausts memory. Negative disables it.
	MaxInboundQueue int
	// MaxDocsPerPeer caps the documents one peer can make this exchange
	// take on (hold headless, interpret or defer) by announcing them;
	// beyond it unknown documents are answered vacant with a quota
	// diagnostic. Zero means 100,000 (ten times a large legitimate
	// client); negative means no cap.
	MaxDocsPerPeer int
	// MaxDocsPerPrincipal caps the documents the peers of one
	// authenticated principal (transport.PrincipalOf their channels'
	// metadata), together and over the exchange's life, can make it take
	// on by announcing them; beyond it they are answered vacant with a
	// quota diagnostic. Peers without a principal are only under
	// MaxDocsPerPeer. Zero means 1,000,000 (ten peers' worth at the
	// per-peer default); negative means no cap.
	MaxDocsPerPrincipal int
}

// DocType says how to hold a document: replica factory, sync mode and
// schema hash. It is the Go counterpart of a bound schema.
type DocType struct {
	// Name is informational (logs, conflicts).
	Name string
	// Factory builds the replica. Nil picks the exchange's built-in for
	// Mode: plain for Authoritative, LWW for Ephemeral. Get needs a factory
	// that implements replica.DocumentFactory.
	Factory replica.Factory
	// Mode is the sync mode. Zero means Authoritative.
	Mode wire.SyncMode
	// SchemaHash is compared with peers' hashes; copy it from the TS side's
	// bound schema to interoperate with typed TS documents.
	SchemaHash string
	// SupportedHashes, if several, lets the doc sync with peers on older
	// schema versions (the hash sets must intersect).
	SupportedHashes []string
	// Defaults is a JSON object (a Go value, json.RawMessage or []byte)
	// whose top-level keys fill in locally when the state lacks them; never
	// versioned or synced.
	Defaults any
	// Schema, if set, validates every transaction before it is applied
	// (see TypeOf, which also sets the hash and the defaults from it).
	Schema *schema.Bound
}

// JSONDoc is a plain authoritative JSON document type (one writer at a
// time, delta sync): wire-compatible with the TS `json` binding.
func JSONDoc(schemaHash string) DocType {
	return DocType{Name: "json", Mode: wire.Authoritative, SchemaHash: schemaHash}
}

// EphemeralDoc is a whole-document last-writer-wins type for presence and
// other transient state: wire-compatible with the TS `ephemeral` binding.
func EphemeralDoc(schemaHash string) DocType {
	return DocType{Name: "ephemeral", Mode: wire.Ephemeral, SchemaHash: schemaHash}
}

// StateDoc is a field-level last-writer-wins type (replica "state"):
// concurrent writes to different fields all survive; wire-compatible with
// the TS `state` binding. The exchange gives it its clock.
func StateDoc(schemaHash string) DocType {
	return DocType{Name: "state", Factory: builtinState, Mode: wire.Ephemeral, SchemaHash: schemaHash}
}

// builtinState stands for the exchange's own state factory (which uses the
// exchange's clock) in a DocType built before the exchange exists. Used
// directly it behaves as a state factory on the wall clock.
var builtinState replica.DocumentFactory = stateMarker{replica.NewStateFactory(replica.StateOptions{})}

type stateMarker struct{ replica.DocumentFactory }

// Exchange keeps documents in sync with peers over any number of
// transports. All methods are safe for concurrent use.
//
// Inside, one serialized dispatcher runs the session and sync programs:
// messages from transports, timers and API calls are queued, and whichever
// goroutine finds the dispatcher idle drains the queue. Outbound messages
// go to the transports as they are made; each burst ends in a tick that
// delivers events to subscribers (outside every lock; they may call back
// in).
type Exchange struct {
	identity wire.PeerIdentity
	clock    clock.Clock
	log      *slog.Logger
	onDiag   func(Diagnostic)
	onStore  func(docID, op string, err error)
	onMsg    func(MessageEvent)
	// maxInbound: Options.MaxInboundQueue resolved (0: no bound).
	maxInbound int
	budget     int
	stores     []store.Store
	replicas   []replica.Bound
	builtin    builtinFactories
	pol        policies
	core       *coreProgram
	runner     *machine.Runner[any, *coreState, any]
	bgCtx      context.Context
	bgCancel   context.CancelFunc
	nextCh     atomic.Uint64
	counters   counters
	obs        observers
	// inCallback counts user callbacks running on the dispatcher; API calls
	// made meanwhile belong to the current cascade.
	inCallback atomic.Int32

	mu         sync.Mutex
	bgJobs     int
	quiet      chan struct{} // closed when the last background job ends; nil while nobody waits
	closing    bool          // Shutdown started: new transport events are ignored
	closed     bool
	runtimes   map[string]*docRuntime
	docTypes   []DocType
	transports []transport.Transport
	channels   map[transport.ChannelID]*transport.Channel
	pressure   map[transport.ChannelID]bool // latest send-queue pressure reported per channel
	peerSubs   subscribers[PeerEvent]
	docSubs    subscribers[DocEvent]
	waiters    map[*syncWaiter]struct{}
	changed    []*docRuntime // runtimes with change sets to deliver at tick

	// touched only by the runner's drainer
	timers      map[string]func() bool
	afterDelete map[string][]func() // hydrations waiting for a delete
}

// New builds an exchange and starts its transports.
func New(opts Options) (*Exchange, error) {
	if opts.PeerID == "" {
		return nil, newError(reasonInvalidPeerID, "", "peer id must not be empty", nil)
	}
	id := wire.PeerIdentity{PeerID: opts.PeerID, Type: opts.PeerType}
	if id.Type == "" {
		id.Type = wire.PeerUser
	}
	if opts.Name != "" {
		n := opts.Name
		id.Name = &n
	}
	clk := clock.OrReal(opts.Clock)
	ex := &Exchange{
		identity:   id,
		clock:      clk,
		log:        opts.Logger,
		onDiag:     opts.OnDiagnostic,
		onStore:    opts.OnStoreError,
		onMsg:      opts.OnMessage,
		maxInbound: opts.MaxInboundQueue,
		budget:     opts.Budget,
		stores:     append([]store.Store(nil), opts.Stores...),
		builtin: builtinFactories{
			plain: replica.NewPlainFactory(replica.PlainOptions{Rand: opts.Rand}),
			lww:   replica.NewLWWFactory(replica.LWWOptions{Now: clk.Now}),
			state: replica.NewStateFactory(replica.StateOptions{Now: clk.Now}),
		},
		runtimes:    map[string]*docRuntime{},
		channels:    map[transport.ChannelID]*transport.Channel{},
		pressure:    map[transport.ChannelID]bool{},
		waiters:     map[*syncWaiter]struct{}{},
		timers:      map[string]func() bool{},
		afterDelete: map[string][]func(){},
	}
	if ex.budget == 0 {
		ex.budget = defaultBudget
	}
	switch {
	case ex.maxInbound == 0:
		ex.maxInbound = defaultMaxInboundQueue
	case ex.maxInbound < 0:
		ex.maxInbound = 0
	}
	ex.replicas = opts.Replicas
	if ex.replicas == nil {
		ex.replicas = []replica.Bound{{Factory: ex.builtin.plain, Mode: wire.Authoritative}, {Factory: ex.builtin.lww, Mode: wire.Ephemeral}, {Factory: ex.builtin.state, Mode: wire.Ephemeral}}
	}
	for _, t := range opts.DocTypes {
		if err := normalizeDocType(&t, ex.builtin); err != nil {
			return nil, err
		}
		ex.docTypes = append(ex.docTypes, t)
	}
	timeout := opts.DepartureTimeout
	switch {
	case timeout == 0:
		timeout = defaultDepartureTimeout
	case timeout == DepartNever:
		timeout = -1
	case timeout < 0:
		timeout = 0
	}
	maxDocs := opts.MaxDocsPerPeer
	switch {
	case maxDocs == 0:
		maxDocs = defaultMaxDocsPerPeer
	case maxDocs < 0:
		maxDocs = 0
	}
	maxPerPrincipal := opts.MaxDocsPerPrincipal
	switch {
	case maxPerPrincipal == 0:
		maxPerPrincipal = defaultMaxDocsPerPrincipal
	case maxPerPrincipal < 0:
		maxPerPrincipal = 0
	}
	ex.core = &coreProgram{
		session: &sessionProgram{
			identity:         id,
			features:         wire.Features{Alias: ptr(true)},
			departureTimeout: timeout,
			canConnect:       ex.canConnect,
		},
		sync:  &syncProgram{identity: id, persistent: len(ex.stores) > 0, maxAnnounced: maxDocs, maxPerPrincipal: maxPerPrincipal, canShare: ex.canShare, canAccept: ex.canAccept},
		store: storeProgram{stores: len(ex.stores)},
	}
	ex.runner = machine.NewRunner[any, *coreState, any](ex.core, ex.execute, machine.Options{
		Label:            "exchange " + id.PeerID,
		Budget:           ex.budget,
		BudgetPerCascade: true,
		InCascade:        func() bool { return ex.inCallback.Load() > 0 },
		HistorySize:      16,
		OnError:          ex.runnerError,
	})
	ex.bgCtx, ex.bgCancel = context.WithCancel(context.Background())
	for _, p := range opts.Policies {
		ex.pol.register(p)
	}
	for _, t := range opts.Transports {
		if err := ex.AddTransport(context.Background(), t); err != nil {
			_ = ex.Shutdown(context.Background())
			return nil, err
		}
	}
	return ex, nil
}

// PeerID returns the local peer id.
func (ex *Exchange) PeerID() string { return ex.identity.PeerID }

// Identity returns the identity sent in establish.
func (ex *Exchange) Identity() wire.PeerIdentity { return ex.identity }

// Register adds a policy (or replaces the one with the same Name in place)
// and returns its disposer, which is idempotent. Gates apply from the next
// decision on.
func (ex *Exchange) Register(p Policy) (dispose func() error) { return ex.pol.register(p) }

// --- dispatcher ---

// state returns the core's current value (immutable).
func (ex *Exchange) cs() *coreState { return ex.runner.State() }

// busyLocked reports whether the runner has work or a background job
// (hydration, store write) runs. The caller holds ex.mu.
func (ex *Exchange) busyLocked() bool { return ex.bgJobs > 0 || !ex.runner.Idle() }

// dispatch queues an input for the core.
func (ex *Exchange) dispatch(m any) {
	ex.mu.Lock()
	closed := ex.closed
	ex.mu.Unlock()
	if !closed {
		ex.runner.Dispatch(m)
	}
}

// consequence queues an outcome of the effect being carried out ahead of
// later inputs: a peer transition, a classification, an import result. An
// interest right behind a present then finds the classified doc.
func (ex *Exchange) consequence(m any) { ex.runner.DispatchUrgent(m) }

// Program steps requested by the shell while it carries out an effect run
// right after it, before later inputs.
func (ex *Exchange) stepSession(m sessionMsg) { ex.consequence(m) }
func (ex *Exchange) stepSync(m syncMsg)       { ex.consequence(m) }
func (ex *Exchange) stepStore(m storeMsg)     { ex.consequence(m) }

// runnerError reports a blown cascade budget or a panic in the shell.
func (ex *Exchange) runnerError(err error) {
	var be *machine.BudgetExhaustedError
	if errors.As(err, &be) {
		recent := make([]string, 0, len(be.History))
		for _, m := range be.History {
			recent = append(recent, fmt.Sprintf("%T", m))
		}
		// Err unwraps to the runner's report (origin stack, message history).
		berr := newError(reasonBudgetExhausted, "", fmt.Sprintf("more than %d messages in one cascade; recent: %v", be.Budget, recent), be)
		ex.diagnose(Diagnostic{Reason: reasonBudgetExhausted, Severity: SeverityError, Message: berr.Detail, Err: berr})
	} else {
		ex.diagnose(Diagnostic{Reason: reasonCallbackPanic, Severity: SeverityError, Message: err.Error(), Err: err})
		return
	}
	ex.runner.Dispatch(tickLostMsg{})
}

// execute carries out one effect of the core (on the runner's drainer).
func (ex *Exchange) execute(f any, dispatch func(any)) {
	switch f := f.(type) {
	case sessionFx:
		ex.sessionEffect(f)
	case syncFx:
		ex.syncEffect(f)
	case storeFx:
		ex.storeEffect(f)
	case funcMsg:
		f()
	case localChangeMsg:
		f.rt.mu.Lock()
		f.rt.pushQueued = false
		v := f.rt.rep.Version().String()
		f.rt.mu.Unlock()
		if ex.runtimeFor(f.rt.id) == f.rt {
			ex.consequence(msgLocalChange{doc: f.rt.id, version: v})
		}
	case fxScheduleTick:
		dispatch(tickMsg{}) // behind what is queued: the end of the burst
	case fxTickDone:
		ex.deliverChanges()
		ex.checkWaiters()
	}
}

// sendTo hands msg to the transports of chans at once: a long burst
// (thousands of interests answered) goes out as it is made, so a queue
// filling up reports its pressure while the burst can still hold the rest
// back.
func (ex *Exchange) sendTo(chans []transport.ChannelID, msg wire.ChannelMsg) {
	for _, id := range chans {
		if ch := ex.channel(id); ch != nil {
			ex.sent(ch, msg, ch.Send(msg))
		}
	}
}

// sendOffer is sendTo for an offer whose data may be in pieces: each
// channel writes them as they are or gets the offer joined, once for all
// (transport.Channel.SendPieces). Message observers get it joined.
func (ex *Exchange) sendOffer(chans []transport.ChannelID, o *transport.OfferPieces) {
	if ex.onMsg != nil || ex.obs.on() {
		ex.sendTo(chans, o.Whole())
		return
	}
	for _, id := range chans {
		if ch := ex.channel(id); ch != nil {
			err := ch.SendPieces(o)
			if err == nil {
				ex.counters.sentOffer(o.Len())
			}
			ex.sent(ch, nil, err)
		}
	}
}

// channel returns the channel id names, nil once it is removed (its
// removal is queued).
func (ex *Exchange) channel(id transport.ChannelID) *transport.Channel {
	ex.mu.Lock()
	defer ex.mu.Unlock()
	return ex.channels[id]
}

// sent accounts for a send on ch: msg is counted and observed when it
// went out (a nil msg was counted by the caller and has no observer), and
// a channel that failed a send is closed.
func (ex *Exchange) sent(ch *transport.Channel, msg wire.ChannelMsg, err error) {
	id := ch.ID
	if err == nil && msg != nil {
		ex.counters.sent(msg)
		if ex.onMsg != nil || ex.obs.on() {
			peer, _ := ex.cs().sess.channelPeer(id)
			if ex.onMsg != nil {
				ex.onMsg(MessageEvent{Outbound: true, Channel: id, Peer: peer, Msg: msg})
			}
			ex.observeMessage(true, id, peer, msg)
		}
	}
	if err != nil && !errors.Is(err, &kyneta.Error{Pkg: "transport", Reason: "closed"}) {
		// The sync protocol assumes reliable, ordered channels: a
		// channel that lost a message (full send queue, slow
		// consumer) is closed, and the peer resyncs from versions
		// when it reconnects. The reference swallowed the error and
		// the peer silently missed the change.
		ex.diagnose(Diagnostic{Reason: reasonSendFailed, Severity: SeverityWarning, Err: err,
			Message: fmt.Sprintf("send on channel %d failed; closing it", id)})
		ch.Close()
	}
}

// startBG accounts for a background goroutine (hydration, store write) so
// Flush and Shutdown can wait for it.
func (ex *Exchange) startBG() bool {
	ex.mu.Lock()
	defer ex.mu.Unlock()
	if ex.closed {
		return false
	}
	ex.bgJobs++
	return true
}

func (ex *Exchange) endBG() {
	ex.mu.Lock()
	ex.bgJobs--
	ex.endBusyLocked()
	ex.mu.Unlock()
}

// endBusyLocked wakes waiters once no background job runs.
func (ex *Exchange) endBusyLocked() {
	if ex.bgJobs == 0 && ex.quiet != nil {
		close(ex.quiet)
		ex.quiet = nil
	}
}

// waitQuiet waits until the runner is idle and no background job runs
// (both at once: a finished job dispatches its result).
func (ex *Exchange) waitQuiet(ctx context.Context) error {
	for {
		if err := ex.runner.WaitIdle(ctx); err != nil {
			return err
		}
		ex.mu.Lock()
		if !ex.busyLocked() {
			ex.mu.Unlock()
			return nil
		}
		if ex.bgJobs == 0 {
			ex.mu.Unlock()
			continue // the runner got work meanwhile
		}
		if ex.quiet == nil {
			ex.quiet = make(chan struct{})
		}
		ch := ex.quiet
		ex.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// --- diagnostics and gates ---

func (ex *Exchange) diagnose(d Diagnostic) {
	if ex.obs.on() {
		ex.publish(ObsEvent{Layer: ObsDiagnostic, Kind: "diagnostic", Diagnostic: &d})
	}
	if ex.log != nil {
		level := slog.LevelWarn
		if d.Severity == SeverityError {
			level = slog.LevelError
		}
		attrs := []any{"code", d.Reason}
		if d.PeerID != "" {
			attrs = append(attrs, "peer", d.PeerID)
		}
		if d.DocID != "" {
			attrs = append(attrs, "doc", d.DocID)
		}
		if d.Err != nil {
			attrs = append(attrs, "err", d.Err)
		}
		ex.log.Log(context.Background(), level, d.Message, attrs...)
	}
	if ex.onDiag != nil {
		ex.safeCall("OnDiagnostic", func() { ex.onDiag(d) })
	}
}

// safeCall runs a user callback; a panic is reported, not propagated.
func (ex *Exchange) safeCall(what string, f func()) {
	ex.inCallback.Add(1)
	defer func() {
		ex.inCallback.Add(-1)
		if r := recover(); r != nil {
			if what == "OnDiagnostic" {
				return // reporting it would call the panicking hook again
			}
			ex.diagnose(Diagnostic{Reason: reasonCallbackPanic, Severity: SeverityError,
				Message: fmt.Sprintf("%s panicked: %v", what, r)})
		}
	}()
	f()
}

// Gates run inside the programs; a panicking policy denies.
func (ex *Exchange) gate(name string, ask func(Policy) Verdict) (ok bool) {
	ex.safeCall(name, func() { ok = ex.pol.allow(ask) })
	return ok
}

func (ex *Exchange) canShare(doc string, peer wire.PeerIdentity) bool {
	return ex.gate("CanShare", func(p Policy) Verdict { return askDoc(p.CanShare, doc, peer) })
}

func (ex *Exchange) canAccept(doc string, peer wire.PeerIdentity) bool {
	return ex.gate("CanAccept", func(p Policy) Verdict { return askDoc(p.CanAccept, doc, peer) })
}

func (ex *Exchange) canReset(doc string, peer wire.PeerIdentity) bool {
	return ex.gate("CanReset", func(p Policy) Verdict { return askDoc(p.CanReset, doc, peer) })
}

func (ex *Exchange) canConnect(req ConnectRequest) bool {
	return ex.gate("CanConnect", func(p Policy) Verdict {
		if p.CanConnect == nil {
			return Abstain
		}
		return p.CanConnect(req)
	})
}

// --- effects ---

func (ex *Exchange) sessionEffect(f sessionFx) {
	switch f := f.(type) {
	case fxSend:
		ex.sendTo([]transport.ChannelID{f.ch}, f.msg)
	case fxRejectChannel:
		// Close the connection (the reference only forgot the channel and
		// left the socket open) and forget the channel now.
		ex.mu.Lock()
		ch := ex.channels[f.ch]
		ex.mu.Unlock()
		if ch != nil {
			ch.Close()
		}
		ex.consequence(msgChannelRemoved(f))
	case fxStartDepartureTimer:
		if stop, ok := ex.timers[f.peer]; ok {
			stop()
		}
		peer, gen := f.peer, f.gen
		ex.timers[f.peer] = ex.clock.AfterFunc(f.delay, func() {
			ex.dispatch(msgDepartureTimerExpired{peer: peer, gen: gen})
		})
	case fxCancelDepartureTimer:
		if stop, ok := ex.timers[f.peer]; ok {
			stop()
			delete(ex.timers, f.peer)
		}
	case fxEmitPeerEvents:
		ex.emitPeerEvents(f.changes)
	case fxSessionDiagnostic:
		ex.diagnose(f.d)
	}
}

func (ex *Exchange) syncEffect(f syncFx) {
	switch f := f.(type) {
	case fxSendToPeers:
		if in, ok := f.msg.(*wire.Interest); ok {
			if rt := ex.peerVersioner(in.DocID); rt != nil {
				ex.sendInterestPerPeer(rt, f.peers, in)
				return
			}
		}
		for _, p := range f.peers {
			ex.sendTo(ex.cs().sess.peerChannels(p), f.msg)
		}
	case fxSendOffers:
		ex.sendOffers(f)
	case fxImport:
		ex.importOffer(f)
	case fxEnsureDoc:
		ex.classify(f)
	case fxDocDismissed:
		// Nothing to do: our copy stays; the peer-sync notification is
		// already queued by the program.
	case fxEmitReady:
		ex.emitReady(f.docs)
	case fxEmitStateAdvanced:
		for doc := range f.docs.All() {
			ex.compact(doc, false)
			ex.persistTrigger(doc)
		}
	case fxEmitDocEvents:
		ex.emitDocEvents(f.events)
	case fxSyncDiagnostic:
		ex.diagnose(f.d)
	}
}

// --- transports ---

// AddTransport initializes and starts t. Adding a transport with the same
// ID as one already attached is a no-op.
func (ex *Exchange) AddTransport(ctx context.Context, t transport.Transport) error {
	ex.mu.Lock()
	if ex.closed || ex.closing {
		ex.mu.Unlock()
		return newError(reasonClosed, "", "", nil)
	}
	for _, x := range ex.transports {
		if x.ID() == t.ID() {
			ex.mu.Unlock()
			return nil
		}
	}
	ex.transports = append(ex.transports, t)
	ex.mu.Unlock()
	c := transport.Context{
		Identity:           ex.identity,
		OnChannelReceive:   ex.onChannelReceive,
		OnChannelAdded:     ex.onChannelAdded,
		OnChannelRemoved:   ex.onChannelRemoved,
		OnChannelEstablish: ex.onChannelEstablish,
		MintChannelID:      func() transport.ChannelID { return transport.ChannelID(ex.nextCh.Add(1)) },
		OnChannelPressure:  ex.onChannelPressure,
		OnFrame:            ex.observeFrame,
	}
	if err := t.Initialize(ctx, c); err != nil {
		ex.forgetTransport(t)
		return newError(reasonTransport, "", "initialize "+t.ID(), err)
	}
	if err := t.Start(ctx); err != nil {
		ex.forgetTransport(t)
		_ = t.Stop(ctx)
		return newError(reasonTransport, "", "start "+t.ID(), err)
	}
	return nil
}

// RemoveTransport stops the transport with the given id; its channels are
// reported removed first. Unknown ids are ignored.
func (ex *Exchange) RemoveTransport(ctx context.Context, id string) error {
	ex.mu.Lock()
	var t transport.Transport
	for _, x := range ex.transports {
		if x.ID() == id {
			t = x
		}
	}
	ex.mu.Unlock()
	if t == nil {
		return nil
	}
	err := t.Stop(ctx)
	ex.forgetTransport(t)
	if err != nil {
		return newError(reasonTransport, "", "stop "+id, err)
	}
	return nil
}

// Transports returns the attached transports.
func (ex *Exchange) Transports() []transport.Transport {
	ex.mu.Lock()
	defer ex.mu.Unlock()
	return append([]transport.Transport(nil), ex.transports...)
}

func (ex *Exchange) forgetTransport(t transport.Transport) {
	ex.mu.Lock()
	defer ex.mu.Unlock()
	for i, x := range ex.transports {
		if x == t {
			ex.transports = append(ex.transports[:i:i], ex.transports[i+1:]...)
			return
		}
	}
}

func (ex *Exchange) onChannelAdded(ch *transport.Channel) {
	ex.mu.Lock()
	if ex.closed {
		ex.mu.Unlock()
		return
	}
	ex.channels[ch.ID] = ch
	ex.mu.Unlock()
	ex.dispatch(msgChannelAdded{ch: ch.ID, transportType: ch.TransportType, meta: ch.Meta})
}

func (ex *Exchange) onChannelRemoved(ch *transport.Channel) {
	ex.mu.Lock()
	delete(ex.channels, ch.ID)
	delete(ex.pressure, ch.ID)
	ex.mu.Unlock()
	ex.dispatch(msgChannelRemoved{ch: ch.ID})
}

// onChannelPressure hears a channel's send-queue pressure. The report goes
// ahead of queued inputs: each burst they make may push again, and the
// queue has only half its room left. It is called from inside the
// transport's send path (the socket writer, even), which must not be made
// to run the dispatcher for long: when the dispatcher is idle the report is
// delivered from a goroutine of its own. Reports can then overtake each
// other, so each delivers the channel's latest state.
func (ex *Exchange) onChannelPressure(id transport.ChannelID, congested bool) {
	ex.mu.Lock()
	if ex.closed {
		ex.mu.Unlock()
		return
	}
	ex.pressure[id] = congested
	ex.mu.Unlock()
	deliver := funcMsg(func() {
		ex.mu.Lock()
		now, ok := ex.pressure[id]
		if ok && !now {
			delete(ex.pressure, id)
		}
		ex.mu.Unlock()
		if ok {
			ex.consequence(chanPressureMsg{ch: id, congested: now})
		}
	})
	if ex.runner.TryDispatchUrgent(deliver) {
		return // queued: the dispatcher is running
	}
	if !ex.startBG() {
		return
	}
	go func() {
		defer ex.endBG()
		ex.runner.DispatchUrgent(deliver)
	}()
}

func (ex *Exchange) onChannelEstablish(ch *transport.Channel) {
	ex.dispatch(msgChannelEstablish{ch: ch.ID})
}

func (ex *Exchange) onChannelReceive(id transport.ChannelID, msg wire.ChannelMsg) {
	if msg != nil {
		ex.counters.received(msg)
		if ex.onMsg != nil || ex.obs.on() {
			ex.mu.Lock()
			peer, _ := ex.cs().sess.channelPeer(id)
			ex.mu.Unlock()
			if ex.onMsg != nil {
				ex.onMsg(MessageEvent{Channel: id, Peer: peer, Msg: msg})
			}
			ex.observeMessage(false, id, peer, msg)
		}
	}
	switch m := msg.(type) {
	case *wire.Establish:
		ex.dispatch(msgEstablishReceived{ch: id, msg: m})
	case *wire.Depart:
		ex.dispatch(msgDepartReceived{ch: id})
	case nil:
	default:
		ex.dispatch(chanSyncMsg{ch: id, msg: msg})
	}
	// Backpressure: a transport delivers on its reader goroutine, so
	// waiting here stops reading the socket (TCP slows the sender down)
	// instead of buffering without bound while the dispatcher is behind.
	if ex.maxInbound > 0 && ex.runner.QueueLen() > ex.maxInbound {
		ex.counters.inboundWaits.Add(1)
		_ = ex.runner.WaitIdle(ex.bgCtx)
	}
}

// peerVersioner returns the doc's runtime when its replica claims a
// different version to each peer (the opaque relay), else nil.
func (ex *Exchange) peerVersioner(doc string) *docRuntime {
	rt := ex.runtimeFor(doc)
	if rt == nil {
		return nil
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if _, ok := rt.rep.(replica.PeerVersioner); !ok {
		return nil
	}
	return rt
}

// sendInterestPerPeer sends each peer the interest perPeerInterest builds
// from the version the opaque replica can back for it.
func (ex *Exchange) sendInterestPerPeer(rt *docRuntime, peers []string, in *wire.Interest) {
	for _, p := range peers {
		chans := ex.cs().sess.peerChannels(p)
		if len(chans) == 0 {
			continue
		}
		var v string
		ok := false
		rt.mu.Lock()
		if pv, isPV := rt.rep.(replica.PeerVersioner); isPV {
			v, ok = pv.VersionFor(p)
		}
		rt.mu.Unlock()
		ex.sendTo(chans, perPeerInterest(in, v, ok))
	}
}
