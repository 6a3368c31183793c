package transport

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/kyneta-go/kyneta"
	"github.com/kyneta-go/kyneta/wire"
)

// recorder is a Context whose callbacks log what happened.
type recorder struct {
	mu     sync.Mutex
	events []string
	recv   []wire.ChannelMsg
}

func (r *recorder) add(format string, args ...any) {
	r.mu.Lock()
	r.events = append(r.events, fmt.Sprintf(format, args...))
	r.mu.Unlock()
}

func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.events
	r.events = nil
	return out
}

func (r *recorder) context() Context {
	return Context{
		Identity:           wire.PeerIdentity{PeerID: "me", Type: wire.PeerService},
		MintChannelID:      NewChannelIDMinter(),
		OnChannelAdded:     func(ch *Channel) { r.add("added %d", ch.ID) },
		OnChannelRemoved:   func(ch *Channel) { r.add("removed %d", ch.ID) },
		OnChannelEstablish: func(ch *Channel) { r.add("establish %d", ch.ID) },
		OnChannelReceive: func(id ChannelID, m wire.ChannelMsg) {
			r.add("receive %d %s", id, m.MsgType())
			r.mu.Lock()
			r.recv = append(r.recv, m)
			r.mu.Unlock()
		},
	}
}

func okLink() Link { return Link{Send: func(wire.ChannelMsg) error { return nil }} }

// baseIn returns a Base driven to state st, plus its recorder.
func baseIn(t *testing.T, st State) (*Base, *recorder) {
	t.Helper()
	ctx := context.Background()
	r := &recorder{}
	b := NewBase(BaseOptions{Type: "test"})
	if st == StateCreated {
		return b, r
	}
	if err := b.Initialize(ctx, r.context()); err != nil {
		t.Fatal(err)
	}
	if st == StateInitialized {
		return b, r
	}
	if err := b.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if st == StateStarted {
		return b, r
	}
	if err := b.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	return b, r
}

func TestLifecycleGuards(t *testing.T) {
	ctx := context.Background()
	type op struct {
		name string
		run  func(*Base) error
	}
	ops := []op{
		{"start", func(b *Base) error { return b.Start(ctx) }},
		{"add channel", func(b *Base) error { _, err := b.AddChannel(okLink()); return err }},
		{"remove channel", func(b *Base) error { _, err := b.RemoveChannel(1); return err }},
		{"establish channel", func(b *Base) error { return b.EstablishChannel(1) }},
		{"receive", func(b *Base) error { return b.Receive(1, &wire.Depart{}) }},
	}
	// want: "" = success, "state" = CodeInvalidState, "notfound" = CodeChannelNotFound.
	table := []struct {
		state State
		want  map[string]string
	}{
		{StateCreated, map[string]string{"start": "state", "add channel": "state", "remove channel": "state", "establish channel": "state", "receive": "state"}},
		{StateInitialized, map[string]string{"start": "", "add channel": "state", "remove channel": "state", "establish channel": "state", "receive": "state"}},
		{StateStarted, map[string]string{"start": "state", "add channel": "", "remove channel": "notfound", "establish channel": "notfound", "receive": "notfound"}},
		{StateStopped, map[string]string{"start": "state", "add channel": "state", "remove channel": "state", "establish channel": "state", "receive": "state"}},
	}
	for _, row := range table {
		for _, o := range ops {
			t.Run(row.state.String()+"/"+o.name, func(t *testing.T) {
				b, _ := baseIn(t, row.state)
				err := o.run(b)
				switch want := row.want[o.name]; want {
				case "":
					if err != nil {
						t.Fatalf("want success, got %v", err)
					}
				case "state":
					var se *kyneta.Error
					wantDetail := fmt.Sprintf("can't %s in %q state", o.name, row.state)
					if !errors.As(err, &se) || !errors.Is(err, &kyneta.Error{Pkg: "transport", Reason: reasonInvalidState}) || se.Detail != wantDetail {
						t.Fatalf("want invalid-state %q, got %#v", wantDetail, err)
					}
					if kyneta.CodeOf(err) != kyneta.CodeFailedPrecondition {
						t.Fatalf("code %q", kyneta.CodeOf(err))
					}
				case "notfound":
					if !errors.Is(err, &kyneta.Error{Pkg: "transport", Reason: reasonChannelNotFound}) {
						t.Fatalf("want reasonChannelNotFound, got %v", err)
					}
				}
			})
		}
	}
}

func TestInitializeRequiresMinter(t *testing.T) {
	b := NewBase(BaseOptions{Type: "test"})
	err := b.Initialize(context.Background(), Context{})
	if !errors.Is(err, &kyneta.Error{Pkg: "transport", Reason: reasonInvalidContext}) {
		t.Fatalf("got %v", err)
	}
	if b.State() != StateCreated {
		t.Fatalf("state %s", b.State())
	}
}

func TestDefaultIDsAreDistinct(t *testing.T) {
	a, b := NewBase(BaseOptions{Type: "x"}), NewBase(BaseOptions{Type: "x"})
	if a.ID() == b.ID() || a.Type() != "x" {
		t.Fatalf("ids %q %q", a.ID(), b.ID())
	}
	if c := NewBase(BaseOptions{Type: "x", ID: "mine"}); c.ID() != "mine" {
		t.Fatalf("id %q", c.ID())
	}
}

func TestInsertionOrder(t *testing.T) {
	b, r := baseIn(t, StateStarted)
	for range 5 {
		if _, err := b.AddChannel(okLink()); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.RemoveChannel(3); err != nil {
		t.Fatal(err)
	}
	if _, err := b.AddChannel(okLink()); err != nil {
		t.Fatal(err)
	}
	var ids []ChannelID
	for _, ch := range b.Channels() {
		ids = append(ids, ch.ID)
	}
	if !slices.Equal(ids, []ChannelID{1, 2, 4, 5, 6}) || b.Len() != 5 {
		t.Fatalf("order %v", ids)
	}
	if ch, ok := b.Channel(4); !ok || ch.ID != 4 || ch.TransportType != "test" || ch.TransportID != b.ID() {
		t.Fatalf("lookup %+v %v", ch, ok)
	}
	if _, ok := b.Channel(3); ok {
		t.Fatal("removed channel still found")
	}
	want := []string{"added 1", "added 2", "added 3", "added 4", "added 5", "removed 3", "added 6"}
	if got := r.take(); !slices.Equal(got, want) {
		t.Fatalf("events %v", got)
	}
	// Stop reports the rest in insertion order (reference issue T1).
	if err := b.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := r.take(); !slices.Equal(got, []string{"removed 1", "removed 2", "removed 4", "removed 5", "removed 6"}) {
		t.Fatalf("stop events %v", got)
	}
	if b.Len() != 0 || len(b.Channels()) != 0 {
		t.Fatal("directory not cleared")
	}
}

func TestDuplicateAndZeroIDsRefused(t *testing.T) {
	for _, name := range []string{"duplicate", "zero"} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			b := NewBase(BaseOptions{Type: "test"})
			next := ChannelID(7)
			if name == "zero" {
				next = 0
			}
			r := &recorder{}
			c := r.context()
			c.MintChannelID = func() ChannelID { return next }
			_ = b.Initialize(ctx, c)
			_ = b.Start(ctx)
			if name == "duplicate" {
				if _, err := b.AddChannel(okLink()); err != nil {
					t.Fatal(err)
				}
			}
			_, err := b.AddChannel(okLink())
			if !errors.Is(err, &kyneta.Error{Pkg: "transport", Reason: reasonDuplicateID}) {
				t.Fatalf("got %v", err)
			}
		})
	}
}

func TestIDsUniqueAcrossTransportsSharingAMinter(t *testing.T) {
	ctx := context.Background()
	mint := NewChannelIDMinter()
	seen := map[ChannelID]bool{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 4 {
		b := NewBase(BaseOptions{Type: "t"})
		c := Context{MintChannelID: mint}
		_ = b.Initialize(ctx, c)
		_ = b.Start(ctx)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				ch, err := b.AddChannel(okLink())
				if err != nil {
					t.Error(err)
					return
				}
				if _, err := b.RemoveChannel(ch.ID); err != nil {
					t.Error(err)
				}
				mu.Lock()
				if seen[ch.ID] {
					t.Errorf("id %d reused", ch.ID)
				}
				seen[ch.ID] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != 200 {
		t.Fatalf("%d ids", len(seen))
	}
}

func TestChannelSendReportsFailures(t *testing.T) {
	b, _ := baseIn(t, StateStarted)
	mk := func(mode string) Link {
		return Link{Send: func(wire.ChannelMsg) error {
			switch mode {
			case "err":
				return errors.New("socket closed")
			case "panic":
				panic("boom")
			}
			return nil
		}}
	}
	for _, mode := range []string{"ok", "panic", "err"} {
		if _, err := b.AddChannel(mk(mode)); err != nil {
			t.Fatal(err)
		}
	}
	ch, _ := b.Channel(1)
	if err := ch.Send(&wire.Depart{}); err != nil {
		t.Fatalf("ok send: %v", err)
	}
	ch, _ = b.Channel(2)
	err := ch.Send(&wire.Depart{})
	var pe *kyneta.Error
	if !errors.As(err, &pe) || pe.Detail != "send (channel 2)" || pe.Err == nil || pe.Err.Error() != "panicked: boom" || kyneta.ReasonOf(err) != reasonSendFailed {
		t.Fatalf("panic error %v", err)
	}
	ch, _ = b.Channel(3)
	if err := ch.Send(&wire.Depart{}); err == nil || kyneta.ReasonOf(err) != reasonSendFailed {
		t.Fatalf("send error %v", err)
	}
}

// TestChannelSendPieces: a link that writes pieces gets them as they are;
// the others get the offer with the pieces joined, one copy for all; an
// offer that holds its data is sent as it is; failures are reported as
// Send reports them.
func TestChannelSendPieces(t *testing.T) {
	b, _ := baseIn(t, StateStarted)
	d := wire.Pieces{Head: []byte(`["`), Body: []byte("value"), Tail: []byte(`"]`)}
	o := &OfferPieces{Offer: wire.Offer{DocID: "doc", Version: "v", Payload: wire.Payload{Kind: wire.Since, Encoding: wire.JSON}}, Data: d}
	var sent []wire.ChannelMsg
	var gotPieces []wire.Pieces
	plain := Link{Send: func(msg wire.ChannelMsg) error { sent = append(sent, msg); return nil }}
	pieces := Link{Send: plain.Send, SendPieces: func(m *wire.Offer, p wire.Pieces) error {
		if m != &o.Offer || m.Payload.Data != nil {
			t.Errorf("SendPieces got another offer")
		}
		gotPieces = append(gotPieces, p)
		return nil
	}}
	failing := Link{Send: plain.Send, SendPieces: func(*wire.Offer, wire.Pieces) error { return errors.New("socket closed") }}
	panicking := Link{Send: plain.Send, SendPieces: func(*wire.Offer, wire.Pieces) error { panic("boom") }}
	for _, l := range []Link{plain, pieces, failing, panicking, plain} {
		if _, err := b.AddChannel(l); err != nil {
			t.Fatal(err)
		}
	}
	ch, _ := b.Channel(1)
	if ch2, _ := b.Channel(2); ch.WritesPieces() || !ch2.WritesPieces() {
		t.Fatal("WritesPieces does not tell the links apart")
	}
	if err := ch.SendPieces(o); err != nil || len(sent) != 1 {
		t.Fatalf("joined send: %v, %d sent", err, len(sent))
	}
	first, ok := sent[0].(*wire.Offer)
	if !ok || string(first.Payload.Data) != `["value"]` || first.DocID != "doc" || o.Offer.Payload.Data != nil || o.Len() != 9 {
		t.Fatalf("joined offer %+v (the pieces' offer now %+v)", sent[0], o.Offer)
	}
	ch, _ = b.Channel(2)
	if err := ch.SendPieces(o); err != nil || len(gotPieces) != 1 || len(sent) != 1 || &gotPieces[0].Body[0] != &d.Body[0] {
		t.Fatalf("pieces send: %v, %d pieces, %d sent", err, len(gotPieces), len(sent))
	}
	ch, _ = b.Channel(3)
	if err := ch.SendPieces(o); err == nil || kyneta.ReasonOf(err) != reasonSendFailed {
		t.Fatalf("send error %v", err)
	}
	ch, _ = b.Channel(4)
	if err := ch.SendPieces(o); err == nil || kyneta.ReasonOf(err) != reasonSendFailed {
		t.Fatalf("panic error %v", err)
	}
	ch, _ = b.Channel(5)
	if err := ch.SendPieces(o); err != nil || len(sent) != 2 || sent[1] != first {
		t.Fatalf("a second channel without pieces got another copy: %v, %d sent", err, len(sent))
	}
	// A nil offer goes to Send as a nil message (the link refuses it).
	ch, _ = b.Channel(2)
	if err := ch.SendPieces(nil); err != nil || len(sent) != 3 || sent[2] != nil {
		t.Fatalf("nil offer: %v, %d sent", err, len(sent))
	}
	sent = sent[:2]
	// An offer that holds its data goes out as it is, even where pieces
	// are written.
	whole := &OfferPieces{Offer: wire.Offer{DocID: "doc", Payload: wire.Payload{Kind: wire.Since, Encoding: wire.JSON, Data: []byte("[]")}}}
	ch, _ = b.Channel(2)
	if err := ch.SendPieces(whole); err != nil || len(gotPieces) != 1 || len(sent) != 3 || sent[2] != &whole.Offer || whole.Len() != 2 {
		t.Fatalf("whole offer: %v, %d pieces, %d sent", err, len(gotPieces), len(sent))
	}
}

func TestReceiveAndEstablishReachContext(t *testing.T) {
	b, r := baseIn(t, StateStarted)
	ch, _ := b.AddChannel(okLink())
	if err := b.EstablishChannel(ch.ID); err != nil {
		t.Fatal(err)
	}
	if err := b.Receive(ch.ID, &wire.Interest{DocID: "d"}); err != nil {
		t.Fatal(err)
	}
	_, _ = b.RemoveChannel(ch.ID)
	if err := b.Receive(ch.ID, &wire.Depart{}); !errors.Is(err, &kyneta.Error{Pkg: "transport", Reason: reasonChannelNotFound}) {
		t.Fatalf("late receive: %v", err)
	}
	want := []string{"added 1", "establish 1", "receive 1 interest", "removed 1"}
	if got := r.take(); !slices.Equal(got, want) {
		t.Fatalf("events %v", got)
	}
	if b.Identity().PeerID != "me" {
		t.Fatal("identity")
	}
}

func TestStartFailureStopsAgain(t *testing.T) {
	ctx := context.Background()
	r := &recorder{}
	var b *Base
	stops := 0
	b = NewBase(BaseOptions{
		Type: "test",
		OnStart: func(context.Context) error {
			if _, err := b.AddChannel(okLink()); err != nil {
				return err
			}
			return errors.New("listen failed")
		},
		OnStop: func(context.Context) error { stops++; return nil },
	})
	_ = b.Initialize(ctx, r.context())
	if err := b.Start(ctx); err == nil {
		t.Fatal("want error")
	}
	if b.State() != StateStopped || stops != 1 || b.Len() != 0 {
		t.Fatalf("state %s stops %d len %d", b.State(), stops, b.Len())
	}
	if got := r.take(); !slices.Equal(got, []string{"added 1", "removed 1"}) {
		t.Fatalf("events %v", got)
	}
	// A stopped transport can be initialized and started again.
	if err := b.Initialize(ctx, r.context()); err != nil {
		t.Fatal(err)
	}
	if b.State() != StateInitialized {
		t.Fatal(b.State())
	}
}

func TestStopSemantics(t *testing.T) {
	ctx := context.Background()
	stops := 0
	stopErr := errors.New("close failed")
	b := NewBase(BaseOptions{Type: "test", OnStop: func(context.Context) error { stops++; return stopErr }})
	// Stop before initialize: no hook, stopped.
	if err := b.Stop(ctx); err != nil || b.State() != StateStopped || stops != 0 {
		t.Fatalf("err %v state %s stops %d", err, b.State(), stops)
	}
	r := &recorder{}
	_ = b.Initialize(ctx, r.context())
	_ = b.Start(ctx)
	_, _ = b.AddChannel(okLink())
	if err := b.Stop(ctx); !errors.Is(err, stopErr) {
		t.Fatalf("want hook error, got %v", err)
	}
	if err := b.Stop(ctx); err != nil || stops != 1 {
		t.Fatalf("second stop: %v, stops %d", err, stops)
	}
	if got := r.take(); !slices.Equal(got, []string{"added 1", "removed 1"}) {
		t.Fatalf("events %v", got)
	}
	if b.FrameObserver() != nil {
		t.Fatal("frame observer after stop")
	}
}

func TestReinitializeStopsFirst(t *testing.T) {
	ctx := context.Background()
	stops := 0
	b := NewBase(BaseOptions{Type: "test", OnStop: func(context.Context) error { stops++; return nil }})
	old, neu := &recorder{}, &recorder{}
	_ = b.Initialize(ctx, old.context())
	_ = b.Start(ctx)
	_, _ = b.AddChannel(okLink())
	if err := b.Initialize(ctx, neu.context()); err != nil {
		t.Fatal(err)
	}
	if stops != 1 || b.State() != StateInitialized || b.Len() != 0 {
		t.Fatalf("stops %d state %s", stops, b.State())
	}
	if got := old.take(); !slices.Equal(got, []string{"added 1", "removed 1"}) {
		t.Fatalf("old context events %v", got)
	}
	_ = b.Start(ctx)
	_, _ = b.AddChannel(okLink())
	if got := neu.take(); !slices.Equal(got, []string{"added 1"}) {
		t.Fatalf("new context events %v", got)
	}
	_ = b.Stop(ctx)
}

func TestFrameObserverOnlyWhileRunning(t *testing.T) {
	b, _ := baseIn(t, StateCreated)
	if b.FrameObserver() != nil {
		t.Fatal("observer before initialize")
	}
	c := Context{MintChannelID: NewChannelIDMinter(), OnFrame: func(FrameTrace) {}}
	_ = b.Initialize(context.Background(), c)
	if b.FrameObserver() == nil {
		t.Fatal("no observer when initialized")
	}
}

func TestRemoveInsideAddedCallbackKeepsOrder(t *testing.T) {
	ctx := context.Background()
	r := &recorder{}
	b := NewBase(BaseOptions{Type: "test"})
	c := r.context()
	inner := c.OnChannelAdded
	c.OnChannelAdded = func(ch *Channel) {
		// The consumer rejects the channel at once, from inside the callback.
		if _, err := b.RemoveChannel(ch.ID); err != nil {
			t.Error(err)
		}
		inner(ch)
	}
	_ = b.Initialize(ctx, c)
	_ = b.Start(ctx)
	if _, err := b.AddChannel(okLink()); err != nil {
		t.Fatal(err)
	}
	if got := r.take(); !slices.Equal(got, []string{"added 1", "removed 1"}) {
		t.Fatalf("events %v", got)
	}
}

func TestChannelCloseRunsOnce(t *testing.T) {
	b, _ := baseIn(t, StateStarted)
	closes := 0
	ch, _ := b.AddChannel(Link{Send: okLink().Send, Close: func() { closes++ }, Meta: 42})
	ch.Close()
	ch.Close()
	if closes != 1 || ch.Meta != 42 {
		t.Fatalf("closes %d meta %v", closes, ch.Meta)
	}
	ch2, _ := b.AddChannel(okLink())
	ch2.Close() // no close function: nothing happens
}

func TestAddLinkWithoutSend(t *testing.T) {
	b, _ := baseIn(t, StateStarted)
	if _, err := b.AddChannel(Link{}); err == nil {
		t.Fatal("want error")
	}
}

// Channels added, removed and sent to from many goroutines while the
// transport stops: every channel is reported added once, removed once, and
// added before removed.
func TestConcurrentChannelsAndStop(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	added, removed := map[ChannelID]int{}, map[ChannelID]int{}
	var bad []string
	b := NewBase(BaseOptions{Type: "test"})
	_ = b.Initialize(ctx, Context{
		MintChannelID: NewChannelIDMinter(),
		OnChannelAdded: func(ch *Channel) {
			mu.Lock()
			added[ch.ID]++
			mu.Unlock()
		},
		OnChannelRemoved: func(ch *Channel) {
			mu.Lock()
			if added[ch.ID] != 1 {
				bad = append(bad, fmt.Sprintf("removed %d before added", ch.ID))
			}
			removed[ch.ID]++
			mu.Unlock()
		},
	})
	_ = b.Start(ctx)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 100 {
				ch, err := b.AddChannel(okLink())
				if err != nil {
					if !errors.Is(err, &kyneta.Error{Pkg: "transport", Reason: reasonInvalidState}) {
						t.Error(err)
					}
					return
				}
				_ = ch.Send(&wire.Depart{})
				if prev, ok := b.Channel(ch.ID - 1); ok {
					_ = prev.Send(&wire.Depart{})
				}
				if (i+g)%2 == 0 {
					_, _ = b.RemoveChannel(ch.ID)
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = b.Stop(ctx)
	}()
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if len(bad) > 0 {
		t.Fatal(bad)
	}
	for id, n := range added {
		if n != 1 || removed[id] != 1 {
			t.Fatalf("channel %d: added %d removed %d", id, n, removed[id])
		}
	}
	if len(removed) != len(added) {
		t.Fatalf("removed %d added %d", len(removed), len(added))
	}
}

func TestStateString(t *testing.T) {
	for s, want := range map[State]string{StateCreated: "created", StateInitialized: "initialized", StateStarted: "started", StateStopping: "stopping", StateStopped: "stopped", State(9): "State(9)"} {
		if s.String() != want {
			t.Errorf("%d: %q", s, s.String())
		}
	}
}

// Every reason's code, spelled out so a change shows up in review (the
// pipeline's reasons are in internal/pipeline).
func TestReasonCodes(t *testing.T) {
	want := map[string]kyneta.Code{
		"invalid-state":        kyneta.CodeFailedPrecondition,
		"channel-not-found":    kyneta.CodeNotFound,
		"duplicate-channel-id": kyneta.CodeAlreadyExists,
		"invalid-context":      kyneta.CodeInvalidArgument,
		"send-failed":          kyneta.CodeUnavailable,
	}
	if len(want) != len(reasonCodes) {
		t.Errorf("%d reasons, the table lists %d", len(reasonCodes), len(want))
	}
	for reason, code := range want {
		err := newError(reason, "", nil)
		if err.Code != code || err.Reason != reason || err.Pkg != "transport" {
			t.Errorf("%s: got %+v, want code %s", reason, err, code)
		}
	}
}
