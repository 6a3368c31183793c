package nats

import (
	"context"
	"encoding/binary"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	natsgo "github.com/nats-io/nats.go"

	"github.com/kyneta-go/kyneta/internal/pipeline"
	"github.com/kyneta-go/kyneta/internal/wirecore"
	"github.com/kyneta-go/kyneta/transport"
	"github.com/kyneta-go/kyneta/wire"
)

// NATS headers of the link protocol. A frame carries From and Link only;
// control messages carry an Op.
const (
	hOp     = "Kyneta-Op"
	hFrom   = "Kyneta-From"
	hInst   = "Kyneta-Inst"
	hLink   = "Kyneta-Link"
	hSeq    = "Kyneta-Seq"
	hReason = "Kyneta-Reason"
)

// Ops. A message without an op is a frame.
const (
	opHello  = "hello"  // I am here (broadcast, or direct in answer)
	opBye    = "bye"    // I am leaving (broadcast)
	opOpen   = "open"   // initiator: let us open link L
	opAccept = "accept" // acceptor: link L is open
	opClose  = "close"  // link L is gone; reason "reset" asks for a new one at once
	opPing   = "ping"   // link L is alive; the last frame I sent on it was Seq
)

const (
	reasonReset = "reset"
	reasonClose = "close"
)

// session is one Start..Stop of a transport: a NATS connection, an
// instance id, and the link state. All link state is owned by one loop
// goroutine that handles inbound messages, heartbeats and close requests
// in order; frames are sent from the exchange's goroutines under each
// link's send lock.
type session struct {
	t         *Transport
	o         Options
	nc        *natsgo.Conn
	inst      string
	threshold int
	hello     string // the broadcast subject
	self      string // this node's subject

	in     chan *natsgo.Msg
	done   chan struct{}
	exited chan struct{}

	qmu      sync.Mutex
	queue    []event
	kick     chan struct{}
	stopTick func() bool
	stopped  bool

	// owned by the loop
	remotes  map[string]*remote
	nextLink uint64
	rst      map[string]bool // links answered with a close since the last heartbeat
}

type evKind uint8

const (
	evTick evKind = iota + 1
	evReconnected
	evCloseLink
	evRun // tests: run fn on the loop
)

type event struct {
	kind   evKind
	link   *link
	reason string
	notify bool // tell the peer
	reset  bool // a fault, not an orderly close: count it and reopen at once
	fn     func()
}

type remote struct {
	node      string
	inst      string
	lastHeard time.Time
	link      *link // opening or open

	// An orderly close is a refusal (the exchange on one side said no):
	// links to this node are not reopened before retryAt, which doubles
	// with every refusal up to maxRefusalBackoff heartbeats, so a denied
	// peer does not cost an open, an establish and a close every beat.
	refusals int
	retryAt  time.Time
}

// maxRefusalShift caps the refusal backoff at 2^5 = 32 heartbeats.
const maxRefusalShift = 5

type linkState uint8

const (
	linkOpening linkState = iota + 1
	linkOpen
	linkClosed
)

type link struct {
	s         *session
	id        string
	remote    string
	initiator bool
	subject   string
	header    natsgo.Header // of every frame; never mutated

	// owned by the loop
	state     linkState
	created   time.Time
	lastHeard time.Time
	pipe      *pipeline.Pipeline
	ch        *transport.Channel
	recvSeq   uint32 // seq of the last whole message received
	partial   bool   // a fragmented message is being received
	partSeq   uint32 // its seq

	sendMu  sync.Mutex
	dead    atomic.Bool
	sentSeq uint32 // seq of the last message sent (under sendMu)
}

func newSession(t *Transport, inst string) *session {
	return &session{
		t:       t,
		o:       t.opts,
		inst:    inst,
		hello:   t.opts.helloSubject(),
		self:    t.opts.nodeSubject(t.opts.NodeID),
		in:      make(chan *natsgo.Msg, 256),
		done:    make(chan struct{}),
		exited:  make(chan struct{}),
		kick:    make(chan struct{}, 1),
		remotes: map[string]*remote{},
		rst:     map[string]bool{},
	}
}

func (s *session) start(ctx context.Context, nc *natsgo.Conn) error {
	s.nc = nc
	s.threshold = s.o.FragmentThreshold
	if limit := int(nc.MaxPayload()) - payloadReserve; limit > 0 && s.threshold > limit {
		s.threshold = limit
	}
	for _, subj := range []string{s.self, s.hello} {
		if _, err := nc.Subscribe(subj, s.deliver); err != nil {
			return err
		}
	}
	// The subscriptions must be in place at the server before anyone is
	// told we exist.
	if err := flush(ctx, nc); err != nil {
		return err
	}
	go s.loop()
	s.post(event{kind: evTick})
	return nil
}

func flush(ctx context.Context, nc *natsgo.Conn) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
	}
	return nc.FlushWithContext(ctx)
}

// deliver is the subscriptions' handler. It blocks while the loop is busy,
// so a slow node makes NATS hold (and past its limits drop) messages; a
// drop shows up as a sequence gap and resets the link.
func (s *session) deliver(m *natsgo.Msg) {
	select {
	case s.in <- m:
	case <-s.done:
	}
}

// post queues an event for the loop without blocking: callers include
// code running on the loop itself (exchange callbacks closing a channel).
func (s *session) post(ev event) {
	s.qmu.Lock()
	if s.stopped {
		s.qmu.Unlock()
		return
	}
	s.queue = append(s.queue, ev)
	s.qmu.Unlock()
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

func (s *session) takeEvents() []event {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	q := s.queue
	s.queue = nil
	return q
}

func (s *session) loop() {
	defer close(s.exited)
	for {
		select {
		case <-s.done:
			return
		case m := <-s.in:
			s.handle(m)
		case <-s.kick:
			for _, ev := range s.takeEvents() {
				s.handleEvent(ev)
			}
		}
	}
}

func (s *session) armTick() {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	if s.stopped {
		return
	}
	s.stopTick = s.o.Clock.AfterFunc(s.o.Heartbeat, func() { s.post(event{kind: evTick}) })
}

// stop ends the session: the loop exits, every link is closed towards its
// peer, the other nodes are told we leave, and the connection closes
// after handing NATS what was published. The Base reports the channels
// removed afterwards.
func (s *session) stop(ctx context.Context) error {
	s.qmu.Lock()
	s.stopped = true
	stopTick := s.stopTick
	s.queue = nil
	s.qmu.Unlock()
	if stopTick != nil {
		stopTick()
	}
	close(s.done)
	<-s.exited
	for _, r := range s.remotes {
		if l := r.link; l != nil {
			l.sendMu.Lock()
			l.dead.Store(true)
			s.publish(s.control(opClose, l.remote, l.id, reasonClose))
			l.sendMu.Unlock()
			if l.pipe != nil {
				_ = l.pipe.Close()
			}
		}
	}
	s.publish(s.control(opBye, "", "", ""))
	var err error
	if s.nc.IsConnected() {
		err = flush(ctx, s.nc)
	}
	s.nc.Close()
	return err
}

func (s *session) handleEvent(ev event) {
	switch ev.kind {
	case evTick:
		s.tick()
	case evReconnected:
		// Others may have dropped us meanwhile: say hello now rather
		// than at the next heartbeat, and let pings reveal lost frames.
		s.publish(s.control(opHello, "", "", ""))
		for _, r := range s.remotes {
			if r.link != nil && r.link.state == linkOpen {
				s.ping(r.link)
			}
		}
	case evCloseLink:
		if ev.link.state == linkClosed {
			return
		}
		s.drop(ev.link, ev.reason, ev.notify, ev.reset)
		r := s.remotes[ev.link.remote]
		switch {
		case r == nil:
		case !ev.reset:
			s.refused(r, ev.link)
		case r.link == nil && s.initiates(r.node):
			s.open(r)
		}
	case evRun:
		ev.fn()
	}
}

func (s *session) now() time.Time { return s.o.Clock.Now() }

// initiates reports whether this node opens the link to node.
func (s *session) initiates(node string) bool { return s.o.NodeID < node }

func (s *session) openTimeout() time.Duration {
	return max(2*s.o.Heartbeat, s.o.DeadAfter/2)
}

func (s *session) tick() {
	now := s.now()
	clear(s.rst)
	s.publish(s.control(opHello, "", "", ""))
	for node, r := range s.remotes {
		if now.Sub(r.lastHeard) > s.o.DeadAfter {
			if r.link != nil {
				s.drop(r.link, "peer silent", true, true)
			}
			delete(s.remotes, node)
			continue
		}
		l := r.link
		switch {
		case l == nil:
			if s.initiates(node) && !now.Before(r.retryAt) {
				s.open(r)
			}
		case l.state == linkOpening:
			if now.Sub(l.created) > s.openTimeout() {
				s.drop(l, "open unanswered", true, false)
				s.open(r)
			}
		case now.Sub(l.lastHeard) > s.o.DeadAfter:
			s.drop(l, "link silent", true, true)
			if s.initiates(node) {
				s.open(r)
			}
		default:
			s.ping(l)
		}
	}
	s.armTick()
}

// control builds a control message; to == "" broadcasts on the hello
// subject.
func (s *session) control(op, to, linkID, reason string) *natsgo.Msg {
	subj := s.hello
	if to != "" {
		subj = s.o.nodeSubject(to)
	}
	m := natsgo.NewMsg(subj)
	m.Header.Set(hOp, op)
	m.Header.Set(hFrom, s.o.NodeID)
	m.Header.Set(hInst, s.inst)
	if linkID != "" {
		m.Header.Set(hLink, linkID)
	}
	if reason != "" {
		m.Header.Set(hReason, reason)
	}
	return m
}

func (s *session) publish(m *natsgo.Msg) {
	if err := s.nc.PublishMsg(m); err != nil {
		s.o.Logger.Debug("nats transport: publish failed", "node", s.o.NodeID, "subject", m.Subject, "err", err)
	}
}

func (s *session) handle(m *natsgo.Msg) {
	h := m.Header
	from := h.Get(hFrom)
	if from == "" {
		return // not ours
	}
	op, inst, id := h.Get(hOp), h.Get(hInst), h.Get(hLink)
	if from == s.o.NodeID {
		if op == opHello && inst != s.inst {
			s.t.stats.duplicates.Add(1)
			s.o.Logger.Warn("nats transport: another process uses this node id", "node", from, "prefix", s.o.Prefix)
		}
		return // our own broadcast
	}
	now := s.now()
	switch op {
	case opHello:
		r := s.sawRemote(from, inst, now)
		if r.link == nil {
			if s.initiates(from) {
				if !now.Before(r.retryAt) {
					s.open(r)
				}
			} else if m.Subject == s.hello {
				s.publish(s.control(opHello, from, "", ""))
			}
		}
	case opBye:
		r := s.remotes[from]
		if r == nil || (r.inst != "" && inst != r.inst) {
			return
		}
		if r.link != nil {
			s.drop(r.link, "peer left", false, false)
		}
		delete(s.remotes, from)
	case opOpen:
		if id == "" {
			return
		}
		r := s.sawRemote(from, inst, now)
		if old := r.link; old != nil {
			if old.id == id {
				return
			}
			// The peer started over (it lost our accept, or it dropped
			// the link and our close crossed its open).
			s.drop(old, "replaced by "+id, false, old.state == linkOpen)
		}
		l := s.newLink(r, id, false)
		r.link = l
		s.publish(s.control(opAccept, from, id, ""))
		s.activate(l)
	case opAccept:
		r := s.sawRemote(from, inst, now)
		l := r.link
		if l == nil || l.id != id || l.state != linkOpening {
			s.refuse(from, id)
			return
		}
		s.activate(l)
		if l.state == linkOpen {
			_ = s.t.EstablishChannel(l.ch.ID) // fails only if stopping
		}
	case opClose:
		r := s.remotes[from]
		if r == nil || r.link == nil || r.link.id != id {
			return
		}
		r.lastHeard = now
		l := r.link
		reset := h.Get(hReason) == reasonReset
		s.drop(l, "closed by peer", false, reset)
		switch {
		case !reset:
			s.refused(r, l)
		case s.initiates(from):
			s.open(r)
		}
	case opPing:
		l := s.linkFor(from, id, now)
		if l == nil {
			return
		}
		seq, err := strconv.ParseUint(h.Get(hSeq), 10, 32)
		if err != nil || l.partial || uint32(seq) != l.recvSeq {
			s.reset(l, "frames lost before ping")
		}
	case "":
		l := s.linkFor(from, id, now)
		if l == nil {
			return
		}
		s.receive(l, m.Data)
	}
}

// sawRemote records that node is alive under instance inst; a new instance
// means the node restarted, so the link to its old instance is dropped.
func (s *session) sawRemote(node, inst string, now time.Time) *remote {
	r := s.remotes[node]
	if r == nil {
		r = &remote{node: node}
		s.remotes[node] = r
	}
	if inst != "" && r.inst != "" && inst != r.inst {
		if r.link != nil {
			s.drop(r.link, "peer restarted", false, r.link.state == linkOpen)
		}
		// A restarted peer may have a new policy: no backoff for it.
		r.refusals, r.retryAt = 0, time.Time{}
	}
	if inst != "" {
		r.inst = inst
	}
	r.lastHeard = now
	return r
}

// refused records an orderly close of l and sets when a link to r may
// be opened again. A link that lived past DeadAfter was not refused but
// used, so the backoff starts over.
func (s *session) refused(r *remote, l *link) {
	now := s.now()
	if now.Sub(l.created) >= s.o.DeadAfter {
		r.refusals = 0
	}
	d := s.o.Heartbeat << min(r.refusals, maxRefusalShift)
	r.refusals++
	r.retryAt = now.Add(d)
}

// linkFor returns the open link id with node, or answers with a close.
func (s *session) linkFor(node, id string, now time.Time) *link {
	r := s.remotes[node]
	if r != nil {
		r.lastHeard = now
	}
	if r == nil || r.link == nil || r.link.id != id || r.link.state != linkOpen {
		s.refuse(node, id)
		return nil
	}
	r.link.lastHeard = now
	return r.link
}

// refuse tells node that link id does not exist here (once per heartbeat
// per link), so it drops the link and opens a new one.
func (s *session) refuse(node, id string) {
	if id == "" || s.rst[id] {
		return
	}
	s.rst[id] = true
	s.publish(s.control(opClose, node, id, reasonReset))
}

func (s *session) newLink(r *remote, id string, initiator bool) *link {
	return &link{
		s:         s,
		id:        id,
		remote:    r.node,
		initiator: initiator,
		subject:   s.o.nodeSubject(r.node),
		header:    natsgo.Header{hFrom: {s.o.NodeID}, hLink: {id}},
		state:     linkOpening,
		created:   s.now(),
	}
}

func (s *session) open(r *remote) {
	s.nextLink++
	l := s.newLink(r, s.inst+"-"+strconv.FormatUint(s.nextLink, 36), true)
	r.link = l
	s.publish(s.control(opOpen, r.node, l.id, ""))
}

// activate gives an accepted link its pipeline and channel.
func (s *session) activate(l *link) {
	l.pipe = pipeline.New(pipeline.Options{
		Threshold: s.threshold,
		Clock:     s.o.Clock,
		OnError: func(err error, _ transport.Direction) {
			// A frame that cannot be encoded or decoded leaves a hole in
			// the stream: start the link over.
			s.post(event{kind: evCloseLink, link: l, reason: "wire error: " + err.Error(), notify: true, reset: true})
		},
		OnFrame: func(tr transport.FrameTrace) {
			if f := s.t.FrameObserver(); f != nil {
				f(tr)
			}
		},
	})
	now := s.now()
	l.state = linkOpen
	l.lastHeard = now
	ch, err := s.t.AddChannel(transport.Link{
		Send:  l.send,
		Close: func() { s.post(event{kind: evCloseLink, link: l, reason: "closed locally", notify: true}) },
		Meta:  Peer{Local: s.o.NodeID, Remote: l.remote, Link: l.id, Since: now},
	})
	if err != nil {
		s.drop(l, "add channel: "+err.Error(), true, false)
		return
	}
	l.ch = ch
	s.t.stats.linksOpened.Add(1)
	s.o.Logger.Debug("nats transport: link open", "node", s.o.NodeID, "peer", l.remote, "link", l.id)
}

// receive checks a frame's place in the link's sequence and hands the
// message it completes to the exchange.
func (s *session) receive(l *link, data []byte) {
	s.t.stats.framesReceived.Add(1)
	s.t.stats.bytesReceived.Add(uint64(len(data)))
	if len(data) < wirecore.HeaderSize {
		s.reset(l, "short frame")
		return
	}
	seq := binary.BigEndian.Uint32(data[6:10])
	fragment := wire.FrameKind(data[1]) == wire.KindFragment
	switch {
	case l.partial:
		if !fragment || seq != l.partSeq {
			s.reset(l, "frames lost inside a fragmented message")
			return
		}
	case seq != l.recvSeq+1:
		s.reset(l, "frames lost")
		return
	case fragment:
		l.partial, l.partSeq = true, seq
	}
	msg, err := l.pipe.Receive(data)
	if err != nil {
		s.reset(l, "wire error: "+err.Error())
		return
	}
	if msg == nil {
		return // more fragments to come
	}
	l.recvSeq, l.partial = seq, false
	if err := s.t.Receive(l.ch.ID, msg); err != nil {
		s.o.Logger.Debug("nats transport: receive dropped", "node", s.o.NodeID, "err", err)
	}
}

// reset drops a broken link on both sides and, if this node initiates,
// opens a new one at once; the exchange catches up on the new channel.
func (s *session) reset(l *link, reason string) {
	s.drop(l, reason, true, true)
	if r := s.remotes[l.remote]; r != nil && r.link == nil && s.initiates(r.node) {
		s.open(r)
	}
}

// drop closes a link: no more frames are sent on it, the peer is told
// (notify), and its channel is removed.
func (s *session) drop(l *link, reason string, notify, fault bool) {
	if l.state == linkClosed {
		return
	}
	wasOpen := l.state == linkOpen
	l.state = linkClosed
	if r := s.remotes[l.remote]; r != nil && r.link == l {
		r.link = nil
	}
	l.sendMu.Lock()
	l.dead.Store(true)
	if notify {
		why := reasonClose
		if fault {
			why = reasonReset
		}
		s.publish(s.control(opClose, l.remote, l.id, why))
	}
	l.sendMu.Unlock()
	if l.pipe != nil {
		_ = l.pipe.Close()
	}
	if wasOpen && fault {
		s.t.stats.linkResets.Add(1)
	}
	s.o.Logger.Debug("nats transport: link dropped", "node", s.o.NodeID, "peer", l.remote, "link", l.id, "reason", reason)
	if l.ch != nil {
		_, _ = s.t.RemoveChannel(l.ch.ID)
	}
}

// ping tells the peer the last seq sent, after every frame sent before it.
func (s *session) ping(l *link) {
	l.sendMu.Lock()
	defer l.sendMu.Unlock()
	if l.dead.Load() {
		return
	}
	m := s.control(opPing, l.remote, l.id, "")
	m.Header.Set(hSeq, strconv.FormatUint(uint64(l.sentSeq), 10))
	s.publish(m)
}

// send is the channel's Link.Send: encode, then publish the frames in
// order. Runs on any goroutine.
func (l *link) send(msg wire.ChannelMsg) error {
	s := l.s
	l.sendMu.Lock()
	defer l.sendMu.Unlock()
	if l.dead.Load() {
		return newError(reasonLinkDown, "", nil)
	}
	pieces, err := l.pipe.Send(msg)
	if err != nil {
		return err // the pipeline's OnError resets the link: its seq is spent
	}
	l.sentSeq = binary.BigEndian.Uint32(pieces[0][6:10])
	for _, p := range pieces {
		m := &natsgo.Msg{Subject: l.subject, Header: l.header, Data: p}
		if s.o.dropSeam != nil && s.o.dropSeam(m) {
			continue
		}
		if err := s.nc.PublishMsg(m); err != nil {
			s.post(event{kind: evCloseLink, link: l, reason: "publish: " + err.Error(), notify: true, reset: true})
			return newError(reasonLinkDown, "publish", err)
		}
		s.t.stats.framesSent.Add(1)
		s.t.stats.bytesSent.Add(uint64(len(p)))
	}
	return nil
}
