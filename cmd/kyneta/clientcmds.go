package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/kyneta-go/kyneta/client"
	"github.com/kyneta-go/kyneta/exchange"
	"github.com/kyneta-go/kyneta/exchange/replica"
	"github.com/kyneta-go/kyneta/internal/redact"
	"github.com/kyneta-go/kyneta/schema"
	"github.com/kyneta-go/kyneta/transport"
	"github.com/kyneta-go/kyneta/transport/backoff"
	"github.com/kyneta-go/kyneta/wire"
)

// stdin is where "put URL DOC -" reads the value (a variable for tests).
var stdin io.Reader = os.Stdin

// announceWait bounds the wait for the server's present after its
// establish. A Kyneta server sends both in one step, the present listing
// every document it holds, so the present is the next message and its
// arrival decides at once. Only a server that holds no document at all
// sends none; this is how long such silence takes to count as "DOC is
// not there".
const announceWait = 2 * time.Second

// putAttempts is how many failed connection attempts in a row put
// accepts: a command that writes once gives up quickly instead of
// retrying for minutes. watch retries for as long as it runs (and until
// --timeout for its first connection).
const putAttempts = 2

type clientConfig struct {
	token      string
	docType    string // --type: json, ephemeral or state
	schemaFile string // --schema
	schemaHash string // --schema-hash
	hashGiven  bool   // --schema-hash was set, possibly to ""
	merge      bool   // put --merge
	noAck      bool   // put --no-ack
	timeout    time.Duration
	url        string
	doc        string
	// bound is the --schema file bound to --type.
	bound *schema.Bound

	tokenFile string
}

var clientSynopsis = map[string]string{
	"put": `kyneta put [flags] URL DOC VALUE

Writes VALUE, a JSON object, to document DOC through the server at URL
(ws://host:port/ws), waits until the server acknowledged it (json documents:
held by every store of the server; ephemeral and state documents are not
acknowledged by the protocol, so put waits until the write is sent) and
prints the document's new version.

VALUE is the JSON text itself, @FILE to read it from FILE, or - to read it
from stdin. By default put REPLACES the document: keys VALUE lacks are
deleted. With --merge it patches: only VALUE's top-level keys are set and
every other key is kept. Ephemeral and state documents cannot delete keys
(their merge keeps every key a peer has), so there a replace that would is
refused.

The schema hash (TypeScript peers sync a document only when it matches)
comes from --schema FILE, a schema in the neutral JSON form that
"kyneta schema hash" reads (VALUE is then checked against it and fields it
leaves out are written as their zero), or from --schema-hash HASH. Without
either, put uses the hash the server announces for DOC, and refuses to
create DOC when the server does not hold it: a document without a hash
never syncs with TypeScript clients. --schema-hash "" creates an untyped
document on purpose (only untyped Go peers sync it).`,
	"watch": `kyneta watch [flags] URL DOC

Prints document DOC as one JSON line now and after every change, until
interrupted (SIGINT or SIGTERM). The first connection is retried until
--timeout; once connected, a lost connection is retried with backoff for as
long as it takes: a server restart does not end watch (stderr says when the
connection is lost and when it is back). Only a refusal (HTTP 401 or 403, a
policy close) ends it with an error. Diagnostics, such as a
schema-hash mismatch, are printed to stderr; a mismatch for DOC while
connecting is an error.

--type, --schema and --schema-hash as for put. With --schema the printed
document shows the zero values a TypeScript reader sees for fields never
written. Without a schema or hash, watch uses the hash the server
announces for DOC, or none.`,
}

// clientFlags binds the flags of put and watch to c.
// maxSchemaHashBytes is the wire limit on schema hashes (§10.1); the
// exchange refuses longer ones too, this check only says so as a usage error.
const maxSchemaHashBytes = 256

func clientFlags(name string, c *clientConfig) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&c.token, "token", "", "bearer token sent to the server; empty: none")
	tokenFileFlag(fs, &c.tokenFile)
	fs.StringVar(&c.docType, "type", "json", "document type, as the TypeScript binding of the same name: json (authoritative JSON), ephemeral (whole-document last writer wins) or state (field-level last writer wins)")
	fs.StringVar(&c.schemaFile, "schema", "", "schema file in the neutral JSON form: sets the schema hash and the zero values (put: checks VALUE against it)")
	fs.StringVar(&c.schemaHash, "schema-hash", "", "schema hash of the document, as the TypeScript side computes it (instead of --schema)")
	if name == "put" {
		fs.BoolVar(&c.merge, "merge", false, "patch: set only VALUE's top-level keys and keep the others; without it put replaces the document, deleting the keys VALUE lacks")
		fs.BoolVar(&c.noAck, "no-ack", false, "do not wait for the server's durable acknowledgement, only until the write is sent (for servers that send none: a TypeScript relay, or one without stores)")
	}
	fs.DurationVar(&c.timeout, "timeout", 10*time.Second, "how long to wait for the server: to connect and sync (put: and again for the acknowledgement)")
	return fs
}

func parseClient(name string, args []string, positional int) (clientConfig, []string, error) {
	var c clientConfig
	fs := clientFlags(name, &c)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return c, nil, flagHelp(fs, clientSynopsis[name])
		}
		return c, nil, &usageError{name + ": " + err.Error()}
	}
	if fs.NArg() != positional {
		return c, nil, &usageError{fmt.Sprintf("%s: want %d arguments, got %d\n%s", name, positional, fs.NArg(), usage)}
	}
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "schema-hash" {
			c.hashGiven = true
		}
	})
	if _, ok := bindingOf(c.docType); !ok {
		return c, nil, &usageError{fmt.Sprintf("%s: --type %q: want json, ephemeral or state", name, c.docType)}
	}
	if c.schemaFile != "" && c.hashGiven {
		return c, nil, &usageError{name + ": --schema and --schema-hash both given: the schema file determines the hash"}
	}
	if len(c.schemaHash) > maxSchemaHashBytes {
		return c, nil, &usageError{fmt.Sprintf("%s: --schema-hash longer than %d bytes", name, maxSchemaHashBytes)}
	}
	c.url, c.doc = fs.Arg(0), fs.Arg(1)
	if err := resolveToken(&c); err != nil {
		return c, nil, err
	}
	return c, fs.Args()[2:], nil
}

func bindingOf(docType string) (schema.Binding, bool) {
	switch docType {
	case "json":
		return schema.BindingJSON, true
	case "ephemeral":
		return schema.BindingEphemeral, true
	case "state":
		return schema.BindingState, true
	}
	return "", false
}

// loadSchema reads --schema: a schema in the neutral JSON form, or a
// vector case ({"name":…,"schema":…}), bound to the --type binding.
func (c *clientConfig) loadSchema(name string) error {
	if c.schemaFile == "" {
		return nil
	}
	data, err := os.ReadFile(c.schemaFile)
	if err != nil {
		return fmt.Errorf("%s: --schema: %w", name, err)
	}
	var probe map[string]json.RawMessage
	if json.Unmarshal(data, &probe) == nil && probe["kind"] == nil && probe["schema"] != nil {
		data = probe["schema"]
	}
	s, err := schema.ParseJSON(data)
	if err != nil {
		return &usageError{fmt.Sprintf("%s: --schema %s: %v", name, c.schemaFile, err)}
	}
	b, _ := bindingOf(c.docType)
	bound, err := schema.Bind(b, s)
	if err != nil {
		return &usageError{fmt.Sprintf("%s: --schema %s: %v", name, c.schemaFile, err)}
	}
	c.bound = bound
	return nil
}

// wireType is the replica type and sync mode --type puts on the wire.
func (c *clientConfig) wireType() (wire.ReplicaType, wire.SyncMode) {
	switch c.docType {
	case "ephemeral":
		return replica.NewLWWFactory(replica.LWWOptions{}).Type(), wire.Ephemeral
	case "state":
		return replica.StateType, wire.Ephemeral
	}
	return replica.PlainType, wire.Authoritative
}

// docTypeFor is the exchange type of the document with schema hash hash.
func (c *clientConfig) docTypeFor(hash string) exchange.DocType {
	var t exchange.DocType
	switch c.docType {
	case "ephemeral":
		t = exchange.EphemeralDoc(hash)
	case "state":
		t = exchange.StateDoc(hash)
	default:
		t = exchange.JSONDoc(hash)
	}
	if c.bound != nil && c.docType != "state" {
		// Readers see what a TypeScript reader sees for fields never
		// written ("" for strings, 0 for numbers, ...). The state replica
		// exports its defaults as stamped fields, and a second peer with
		// defaults then never counts as synced with the server, so for
		// state documents watch fills the zero in when it prints
		// (withZero).
		t.Defaults = json.RawMessage(c.bound.ZeroJSON())
	}
	return t
}

// withZero adds the schema's zero for top-level fields doc lacks, where
// the document type cannot carry the zero as Defaults (see docTypeFor).
func (c *clientConfig) withZero(doc []byte) ([]byte, error) {
	if c.bound == nil || c.docType != "state" {
		return doc, nil
	}
	var m, zero map[string]json.RawMessage
	if err := json.Unmarshal(doc, &m); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(c.bound.ZeroJSON(), &zero); err != nil {
		return nil, err
	}
	for k, v := range zero {
		if _, ok := m[k]; !ok {
			m[k] = v
		}
	}
	return json.Marshal(m)
}

// session is a short-lived exchange with one WebSocket client transport.
type session struct {
	ex   *exchange.Exchange
	cl   *client.Client
	hc   *http.Client
	doc  *exchange.Doc
	ann  *announcements
	diag *diagSink
	dial *dialRecorder
}

func randomPeerID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "cli-" + hex.EncodeToString(b[:])
}

// openOptions say how put and watch differ while connecting.
type openOptions struct {
	// reconnect: retry a lost connection forever (watch), the first one
	// until --timeout. Without it the client gives up after putAttempts
	// failures in a row.
	reconnect bool
	// requireHash: without --schema or --schema-hash, refuse a document
	// the server does not announce rather than create it without a hash.
	requireHash bool
}

// open connects to the server and waits until the document is synced with
// it (or the server answered that it has none).
func open(ctx context.Context, c *clientConfig, stderr io.Writer, o openOptions) (*session, error) {
	hdr := http.Header{}
	if c.token != "" {
		hdr.Set("Authorization", "Bearer "+c.token)
	}
	policy := backoff.Policy{Base: 200 * time.Millisecond, Max: time.Second, MaxAttempts: putAttempts}
	if o.reconnect {
		policy = backoff.Policy{Base: 200 * time.Millisecond, Max: 5 * time.Second, MaxAttempts: backoff.Unlimited}
	}
	// The client keeps no cause while it retries; the dialer remembers the
	// last one, so a watch that cannot connect says why.
	base := http.DefaultTransport.(*http.Transport).Clone()
	dial := &dialRecorder{rt: base}
	hc := &http.Client{Transport: dial}
	opts := client.Options{URL: c.url, Header: hdr, HTTPClient: hc}
	if urls := strings.Split(c.url, ","); len(urls) > 1 {
		// Several nodes: try them in the order given, so successive
		// commands on one document go to the same node while it is up.
		opts.URL, opts.URLs = "", urls
		opts.Rand = func() float64 { return 0 }
		if !o.reconnect {
			policy.MaxAttempts = max(putAttempts, len(urls))
		}
	}
	opts.Reconnect = &policy
	cl, err := client.New(opts)
	if err != nil {
		return nil, err
	}
	s := &session{cl: cl, hc: hc, dial: dial, ann: newAnnouncements(c.doc), diag: &diagSink{doc: c.doc, w: stderr}}
	// Documents the server presents other than ours are answered vacant at
	// once; deferring them would present each back and draw an interest.
	onlyOurs := exchange.Policy{Name: "cli", Resolve: func(req exchange.ResolveRequest) exchange.Resolution {
		if req.DocID == c.doc {
			return exchange.Resolution{} // the default: deferred until Get
		}
		return exchange.Reject()
	}}
	ex, err := exchange.New(exchange.Options{
		PeerID:       randomPeerID(),
		PeerType:     wire.PeerService,
		Transports:   []transport.Transport{cl},
		Policies:     []exchange.Policy{onlyOurs},
		Logger:       slog.New(slog.DiscardHandler),
		OnMessage:    s.ann.observe,
		OnDiagnostic: s.diag.handle,
	})
	if err != nil {
		_ = cl.Close()
		hc.CloseIdleConnections()
		return nil, err
	}
	s.ex = ex
	fail := func(err error) (*session, error) {
		s.close()
		return nil, err
	}
	waitCtx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	// A mismatch for our document ends the wait at once: the server
	// answers such a peer vacant, which would look like an empty doc.
	syncCtx, stopSync := context.WithCancelCause(waitCtx)
	defer stopSync(nil)
	s.diag.startup(func(err error) { stopSync(err) })
	if err := s.waitReady(waitCtx, c.timeout); err != nil {
		return fail(err)
	}
	meta, err := s.ann.wait(waitCtx)
	if err != nil {
		return fail(err)
	}
	t, err := c.resolveType(meta, o.requireHash)
	if err != nil {
		return fail(err)
	}
	doc, err := ex.Get(c.doc, t)
	if err != nil {
		return fail(err)
	}
	s.doc = doc
	err = doc.WaitForSync(syncCtx)
	if err == nil {
		err = s.catchUp(syncCtx)
	}
	if cause := context.Cause(syncCtx); cause != nil && !errors.Is(cause, context.DeadlineExceeded) && !errors.Is(cause, context.Canceled) {
		return fail(cause) // the mismatch, even if the sync "succeeded" on a vacant answer
	}
	if err != nil {
		return fail(fmt.Errorf("document %q did not sync with %s: %w", c.doc, redactURLs(c.url), err))
	}
	s.diag.running()
	return s, nil
}

// resolveType picks the document's type from the flags and what the
// server announced for the document (nil: nothing).
func (c *clientConfig) resolveType(meta *wire.DocPresence, requireHash bool) (exchange.DocType, error) {
	if meta != nil {
		rt, mode := c.wireType()
		if !replica.Compatible(rt, meta.ReplicaType) || mode != meta.SyncMode {
			return exchange.DocType{}, fmt.Errorf("document %q: the server holds it as %s, not as %s (--type %s)",
				c.doc, typeName(meta.ReplicaType, meta.SyncMode), typeName(rt, mode), c.docType)
		}
	}
	var hash string
	switch {
	case c.bound != nil:
		hash = c.bound.Hash()
	case c.hashGiven:
		hash = c.schemaHash
	case meta != nil:
		return c.docTypeFor(meta.SchemaHash), nil
	case requireHash:
		return exchange.DocType{}, fmt.Errorf("document %q: the server does not hold it, and put will not create it without a schema hash (TypeScript clients could never sync it): pass --schema FILE or --schema-hash HASH (--schema-hash \"\" for an untyped document)", c.doc)
	}
	if meta != nil && !slices.Contains(hashesOf(meta), hash) {
		return exchange.DocType{}, &mismatchError{doc: c.doc, code: "schema-hash-mismatch", local: hash, remote: strings.Join(hashesOf(meta), ",")}
	}
	return c.docTypeFor(hash), nil
}

func hashesOf(p *wire.DocPresence) []string {
	if len(p.SupportedHashes) > 0 {
		return p.SupportedHashes
	}
	return []string{p.SchemaHash}
}

// typeName names a replica type and sync mode as --type does, with the
// wire's terms after it.
func typeName(rt wire.ReplicaType, m wire.SyncMode) string {
	mode := fmt.Sprintf("%s/%s/%s", m.WriterModel, m.Delivery, m.Durability)
	wireName := fmt.Sprintf("replica %s/%d, %s", rt.Name, rt.Major, mode)
	for _, t := range []string{"json", "ephemeral", "state"} {
		c := clientConfig{docType: t}
		if trt, tm := c.wireType(); replica.Compatible(trt, rt) && tm == m {
			return t + " (" + wireName + ")"
		}
	}
	return wireName
}

// announcements watches the server's first messages for what it says
// about one document: its establish, then the present that follows it in
// the same step when the server holds any document.
type announcements struct {
	doc         string
	mu          sync.Mutex
	established chan struct{} // closed at the server's establish
	presented   chan struct{} // closed at its first present after that
	meta        *wire.DocPresence
}

func newAnnouncements(doc string) *announcements {
	return &announcements{doc: doc, established: make(chan struct{}), presented: make(chan struct{})}
}

// observe is the exchange's OnMessage hook: it runs on the receiving
// goroutine before the message is dispatched, must not block and must not
// keep the message.
func (a *announcements) observe(ev exchange.MessageEvent) {
	if ev.Outbound {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	switch m := ev.Msg.(type) {
	case *wire.Establish:
		closeOnce(a.established)
	case *wire.Present:
		if !isClosed(a.established) || isClosed(a.presented) {
			return
		}
		for _, e := range m.Docs {
			if e.DocID == a.doc {
				e.SupportedHashes = append([]string(nil), e.SupportedHashes...)
				a.meta = &e
			}
		}
		close(a.presented)
	}
}

// wait returns what the server announced for the document, or nil when
// its first present did not list it (or no present came within
// announceWait of its establish: a server holding no document).
func (a *announcements) wait(ctx context.Context) (*wire.DocPresence, error) {
	select {
	case <-a.established:
	case <-ctx.Done():
		return nil, fmt.Errorf("the server did not complete the handshake in time: %w", ctx.Err())
	}
	timer := time.NewTimer(announceWait)
	defer timer.Stop()
	select {
	case <-a.presented:
	case <-timer.C:
	case <-ctx.Done():
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.meta, nil
}

func closeOnce(ch chan struct{}) {
	if !isClosed(ch) {
		close(ch)
	}
}

func isClosed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// mismatchError is a document the server holds with another schema hash,
// replica type or sync mode than this command.
type mismatchError struct {
	doc           string
	code          string // the diagnostic's reason
	local, remote string
}

func (e *mismatchError) Error() string {
	what := "schema hash"
	hint := "pass the document's --schema or --schema-hash"
	switch e.code {
	case "replica-type-mismatch":
		what, hint = "replica type", "pass the document's --type"
	case "sync-mode-mismatch":
		what, hint = "sync mode", "pass the document's --type"
	}
	return fmt.Sprintf("document %q: the server holds it with %s %q, this command uses %q (%s); %s", e.doc, what, e.remote, e.local, e.code, hint)
}

// diagSink prints the exchange's diagnostics on stderr, one line each.
// While connecting, a mismatch for the command's document is not printed
// but ends the connecting with a *mismatchError.
type diagSink struct {
	doc   string
	w     io.Writer
	mu    sync.Mutex
	fatal func(error) // set while connecting
	muted bool
}

func (s *diagSink) startup(fatal func(error)) {
	s.mu.Lock()
	s.fatal = fatal
	s.mu.Unlock()
}

func (s *diagSink) running() {
	s.mu.Lock()
	s.fatal = nil
	s.mu.Unlock()
}

// mute stops the printing: the command is closing, and what a shutdown
// reports (sends to a lost server failing) is not news.
func (s *diagSink) mute() {
	s.mu.Lock()
	s.muted = true
	s.mu.Unlock()
}

// handle is the exchange's OnDiagnostic hook (on its dispatcher).
func (s *diagSink) handle(d exchange.Diagnostic) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.muted {
		return
	}
	if s.fatal != nil && d.DocID == s.doc {
		switch d.Reason {
		case "schema-hash-mismatch", "replica-type-mismatch", "sync-mode-mismatch":
			s.fatal(&mismatchError{doc: s.doc, code: d.Reason, local: d.Local, remote: d.Remote})
			return
		}
	}
	fmt.Fprintf(s.w, "kyneta: %s\n", describeDiagnostic(d))
}

func describeDiagnostic(d exchange.Diagnostic) string {
	var b strings.Builder
	sev := d.Severity
	if sev == "" {
		sev = exchange.SeverityWarning
	}
	fmt.Fprintf(&b, "%s: %s", sev, d.Reason)
	switch {
	case d.Message != "":
		b.WriteString(": " + d.Message)
	case d.DocID != "":
		fmt.Fprintf(&b, ": doc %q", d.DocID)
	}
	if d.Err != nil && !strings.Contains(d.Message, d.Err.Error()) {
		b.WriteString(": " + d.Err.Error())
	}
	return strings.ReplaceAll(b.String(), "\n", " ")
}

// lockedWriter serializes the lines written from the exchange's and the
// client's callback goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// dialRecorder remembers why the last connection attempt failed.
type dialRecorder struct {
	rt   http.RoundTripper
	mu   sync.Mutex
	last error
}

func (d *dialRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := d.rt.RoundTrip(r)
	d.mu.Lock()
	switch {
	case err != nil:
		d.last = err
	case resp.StatusCode != http.StatusSwitchingProtocols:
		d.last = fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	d.mu.Unlock()
	return resp, err
}

func (d *dialRecorder) lastError() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.last
}

// catchUp waits until the document holds every version a peer told us it
// has. WaitForSync alone is not enough for a reader: it resolves once the
// server's interest arrived, which can be before the server's offer has.
func (s *session) catchUp(ctx context.Context) error {
	behind := func() (string, bool) {
		local := s.doc.Version()
		for _, st := range s.doc.PeerStates() {
			if st.Kind == exchange.PeerPending {
				return "pending", true
			}
			if st.Kind == exchange.PeerSynced && st.LastKnownVersion != "" && st.LastKnownVersion != local &&
				!strings.HasPrefix(st.LastKnownVersion, "kyneta.genesis:") {
				return st.LastKnownVersion, true
			}
		}
		return "", false
	}
	changed := make(chan struct{}, 1)
	wake := func() {
		select {
		case changed <- struct{}{}:
		default:
		}
	}
	cancelSync := s.doc.OnPeerSyncChange(func(exchange.SyncEvent) { wake() })
	defer cancelSync()
	cancelChange := s.doc.Subscribe(func(exchange.Change) { wake() })
	defer cancelChange()
	for {
		want, ok := behind()
		if !ok {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("document %q did not catch up with the server's version %s: %w", s.doc.ID(), want, ctx.Err())
		}
	}
}

// waitReady waits for the server's "ready", or reports why it never came.
func (s *session) waitReady(ctx context.Context, timeout time.Duration) error {
	settled := func(st client.State) bool {
		return st.Status == client.StatusReady || (st.Status == client.StatusDisconnected && st.Reason != nil)
	}
	done := make(chan struct{})
	var once sync.Once
	unsubscribe := s.cl.Subscribe(func(_, to client.State) {
		if settled(to) {
			once.Do(func() { close(done) })
		}
	})
	defer unsubscribe()
	if !settled(s.cl.State()) {
		select {
		case <-done:
		case <-ctx.Done():
			// A client that retries keeps no cause; the dialer does.
			if err := s.dial.lastError(); err != nil {
				return fmt.Errorf("cannot reach server within %s: %s", timeout, describeErr(err))
			}
			return fmt.Errorf("server did not answer in time: %w", ctx.Err())
		}
	}
	st := s.cl.State()
	if st.Status == client.StatusReady {
		return nil
	}
	if st.Reason != nil {
		return fmt.Errorf("cannot reach server: %s", describeReason(st.Reason))
	}
	return errors.New("cannot reach server")
}

func describeReason(r *client.DisconnectReason) string {
	switch {
	case r.HTTPStatus != 0:
		return fmt.Sprintf("%s (HTTP %d)", r.Reason, r.HTTPStatus)
	case r.Err != nil:
		var op *net.OpError
		if errors.As(r.Err, &op) {
			return describeErr(r.Err)
		}
		return fmt.Sprintf("%s: %v", r.Reason, r.Err)
	}
	return r.Reason
}

// describeErr says a network failure best on its own ("dial tcp ...:
// connection refused"), without the layers of dial wrapping.
func describeErr(err error) string {
	var op *net.OpError
	if errors.As(err, &op) {
		return op.Error()
	}
	return err.Error()
}

func (s *session) close() {
	s.diag.mute()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s.ex.Shutdown(ctx)
	s.hc.CloseIdleConnections()
}

// readValue returns put's VALUE argument as a JSON object: the text
// itself, @FILE, or - for stdin.
func readValue(arg string) (map[string]any, error) {
	var data []byte
	var err error
	from := "VALUE"
	switch {
	case arg == "-":
		from = "stdin"
		data, err = io.ReadAll(stdin)
	case strings.HasPrefix(arg, "@"):
		from = arg[1:]
		data, err = os.ReadFile(arg[1:])
	default:
		data = []byte(arg)
	}
	if err != nil {
		return nil, fmt.Errorf("put: %w", err)
	}
	var content map[string]any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	err = dec.Decode(&content)
	if err == nil && content == nil {
		err = errors.New("null")
	}
	if err == nil {
		if _, extra := dec.Token(); extra != io.EOF {
			err = errors.New("more than one JSON value")
		}
	}
	if err != nil {
		return nil, &usageError{fmt.Sprintf("put: %s must be a JSON object: %v", from, err)}
	}
	return content, nil
}

// checkValue validates what put writes against --schema. A replace
// writes a whole document: fields it leaves out are completed with their
// zero (what every reader sees for them anyway) and it must then be a
// valid document. A merge writes fields: each must be a valid value for
// its field.
func (c *clientConfig) checkValue(content map[string]any) (map[string]any, error) {
	if c.bound == nil {
		return content, nil
	}
	s := c.bound.Schema()
	if c.merge {
		keys := sortedKeys(content)
		for _, k := range keys {
			if err := s.ValidateAt(schema.Path{k}, content[k]); err != nil {
				return nil, &usageError{fmt.Sprintf("put: VALUE does not fit --schema %s: %v", c.schemaFile, err)}
			}
		}
		return content, nil
	}
	full, err := s.Complete(content)
	if err == nil {
		err = s.Validate(full)
	}
	if err != nil {
		return nil, &usageError{fmt.Sprintf("put: VALUE does not fit --schema %s: %v", c.schemaFile, err)}
	}
	out, ok := plainValue(full).(map[string]any)
	if !ok {
		return nil, fmt.Errorf("put: completing VALUE gave %T, not an object", full)
	}
	return out, nil
}

// plainValue turns the schema package's value model (ordered objects,
// object readers) back into encoding/json's. schema.AppendJSON cannot
// write every object Complete returns (maps below Schema.any() stay
// wrapped), so put does not go through JSON text.
func plainValue(v any) any {
	switch x := v.(type) {
	case schema.ObjectReader:
		m := map[string]any{}
		x.Range(func(k string, e any) bool {
			m[k] = plainValue(e)
			return true
		})
		return m
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = plainValue(e)
		}
		return out
	}
	return v
}

func quoteAll(keys []string) string {
	q := make([]string, len(keys))
	for i, k := range keys {
		q[i] = fmt.Sprintf("%q", k)
	}
	return strings.Join(q, ", ")
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// put writes a JSON object to the document: replacing it, or with
// --merge patching its top-level keys.
func put(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, rest, err := parseClient("put", args, 3)
	if err != nil {
		return err
	}
	content, err := readValue(rest[0])
	if err != nil {
		return err
	}
	if err := c.loadSchema("put"); err != nil {
		return err
	}
	if content, err = c.checkValue(content); err != nil {
		return err
	}
	s, err := open(ctx, &c, &lockedWriter{w: stderr}, openOptions{requireHash: true})
	if err != nil {
		return err
	}
	defer s.close() // idempotent: put closes it early to confirm
	var current map[string]any
	if err := s.doc.Decode(&current); err != nil {
		return err
	}
	var stale []string
	if !c.merge {
		for k := range current {
			if _, keep := content[k]; !keep {
				stale = append(stale, k)
			}
		}
		sort.Strings(stale)
	}
	if len(stale) > 0 && c.docType != "json" {
		// Last-writer-wins documents merge by the union of top-level keys
		// (state per field, ephemeral per key of the entirety): a deleted
		// key would come back from the first peer that still has it.
		return fmt.Errorf("put: %s documents cannot delete keys, and VALUE lacks %s: set them (null is a value) or use --merge", c.docType, quoteAll(stale))
	}
	err = s.doc.Update(func(tx *exchange.Tx) error {
		if len(stale) > 0 {
			tx.Delete(exchange.P(), stale...)
		}
		for _, k := range sortedKeys(content) {
			tx.Set(exchange.P(k), content[k])
		}
		return nil
	})
	if err != nil {
		return err
	}
	v := s.doc.Version()
	waitCtx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	if c.docType == "json" && !c.noAck {
		// Acknowledged means the server holds the write durably (every
		// store confirmed it); until then it exists only in this process.
		if err := s.doc.WaitAcknowledged(waitCtx); err != nil {
			return fmt.Errorf("the server did not acknowledge version %s within %s (it may be unable to persist it; see its /readyz): %w", v, c.timeout, err)
		}
	} else if err := s.ex.Flush(waitCtx); err != nil {
		// Last-writer-wins documents get no acknowledgement on the wire:
		// the best put can confirm is that the write left this process.
		return fmt.Errorf("version %s was not sent within %s: %w", v, c.timeout, err)
	}
	s.close()
	fmt.Fprintln(stdout, v)
	return nil
}

// watch prints the document as one JSON line now and after every change,
// until ctx ends or the server refuses the connection for good. Lost
// connections are retried with backoff.
func watch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, _, err := parseClient("watch", args, 2)
	if err != nil {
		return err
	}
	if err := c.loadSchema("watch"); err != nil {
		return err
	}
	stderr = &lockedWriter{w: stderr}
	s, err := open(ctx, &c, stderr, openOptions{reconnect: true})
	if err != nil {
		return err
	}
	defer s.close()
	// One pending wake-up is enough: the printer reads the newest state.
	changed := make(chan struct{}, 1)
	wake := func() {
		select {
		case changed <- struct{}{}:
		default:
		}
	}
	cancel := s.doc.Subscribe(func(exchange.Change) { wake() })
	defer cancel()
	lost := make(chan *client.DisconnectReason, 1)
	var (
		mu   sync.Mutex
		down bool // a loss was reported and the connection is not back
	)
	unsubscribe := s.cl.Subscribe(func(from, to client.State) {
		switch {
		case to.Status == client.StatusDisconnected && to.Reason != nil:
			select {
			case lost <- to.Reason:
			default:
			}
		case to.Status == client.StatusReconnecting && from.Status != client.StatusReconnecting:
			mu.Lock()
			if !down && ctx.Err() == nil {
				down = true
				fmt.Fprintf(stderr, "kyneta: lost the connection to the server; reconnecting (next attempt in %s)\n", to.Delay.Round(time.Millisecond))
			}
			mu.Unlock()
		case to.Status == client.StatusReady:
			mu.Lock()
			if down {
				down = false
				fmt.Fprintln(stderr, "kyneta: reconnected to the server")
			}
			mu.Unlock()
		}
	})
	defer unsubscribe()
	wake()
	var last []byte
	for {
		select {
		case <-changed:
			b, err := s.doc.JSON()
			if err == nil {
				b, err = c.withZero(b)
			}
			if err != nil {
				return err
			}
			if !bytes.Equal(b, last) {
				if _, err := fmt.Fprintf(stdout, "%s\n", b); err != nil {
					return err
				}
				last = b
			}
		case r := <-lost:
			return fmt.Errorf("lost the server: %s", describeReason(r))
		case <-ctx.Done():
			return nil
		}
	}
}

// redactURLs redacts every URL of a comma-separated list for error text:
// a ?token= must never reach a terminal or a log.
func redactURLs(list string) string {
	urls := strings.Split(list, ",")
	for i, u := range urls {
		urls[i] = redact.URL(u)
	}
	return strings.Join(urls, ",")
}
