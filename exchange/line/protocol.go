package line

import (
	"strings"

	"github.com/kyneta-go/kyneta/exchange"
	"github.com/kyneta-go/kyneta/schema"
)

// Options configure a Protocol. The zero value is usable.
type Options struct {
	// ClientSchema and ServerSchema, if set, are the payload schemas of the
	// messages the client (Open) and the server (Listen) send, instead of the
	// ones derived from the Go types (schema.For). Set them when the Go type
	// cannot express the schema the other side declares: the line documents
	// sync only when both sides compute the same schema hash.
	ClientSchema, ServerSchema *schema.Schema
	// OnError receives the errors of a line's background work: acks, prunes
	// and compactions the exchange refused, and inbox content that is not a
	// line document ("malformed"). It runs on the line's goroutine and must
	// not block. Nil ignores them.
	OnError func(error)
}

// Protocol is a topic plus the message types both sides agree on: C is what
// the client (the side that calls Open) sends, S what the server (the side
// that calls Listen) sends. Use the same type for both for a symmetric line.
// A Protocol is immutable; create it once and share it.
type Protocol[C, S any] struct {
	topic   string
	client  side
	server  side
	onError func(error)
}

// side is the schema of one direction's document.
type side struct {
	payload *schema.Schema
	doc     exchange.DocType
}

// NewProtocol describes the line protocol topic. The document schema of
// each direction is the reference's line envelope around the message
// schema, {messages: [{seq, payload}], ackSeq, ackLineage, nextSeq}, bound
// with json, so its hash equals the one a TypeScript peer computes for the
// same message schema.
func NewProtocol[C, S any](topic string, opts Options) (*Protocol[C, S], error) {
	if err := validTopic(topic); err != nil {
		return nil, err
	}
	c, err := makeSide[C](topic, opts.ClientSchema)
	if err != nil {
		return nil, err
	}
	s, err := makeSide[S](topic, opts.ServerSchema)
	if err != nil {
		return nil, err
	}
	return &Protocol[C, S]{topic: topic, client: c, server: s, onError: opts.OnError}, nil
}

// Topic returns the protocol's topic.
func (p *Protocol[C, S]) Topic() string { return p.topic }

// ClientSchema returns the bound schema of the client's documents (their
// hash is what TypeScript's json.bind(createLineDocSchema(schema)) yields).
func (p *Protocol[C, S]) ClientSchema() *schema.Bound { return p.client.doc.Schema }

// ServerSchema returns the bound schema of the server's documents.
func (p *Protocol[C, S]) ServerSchema() *schema.Bound { return p.server.doc.Schema }

// Open returns this exchange's line to peer, as the client: it sends C and
// receives S. Opening the same line again returns the same *Line with one
// more reference (each Open needs its Close). It returns at once; Send and
// Receive wait until the line's documents are loaded from the stores.
func (p *Protocol[C, S]) Open(ex *exchange.Exchange, peer string) (*Line[C, S], error) {
	return open[C, S](ex, p.topic, peer, p.client, p.server, p.onError)
}

// DocSchema returns the line document schema around a message schema: the
// Go counterpart of the reference's createLineDocSchema.
func DocSchema(payload *schema.Schema) *schema.Schema {
	return schema.Struct(
		schema.F("messages", schema.List(schema.Struct(
			schema.F("seq", schema.Number()),
			schema.F("payload", payload),
		))),
		schema.F("ackSeq", schema.Number()),
		schema.F("ackLineage", schema.String()),
		schema.F("nextSeq", schema.Number()),
	)
}

func makeSide[T any](topic string, payload *schema.Schema) (side, error) {
	if payload == nil {
		s, err := schema.For[T]()
		if err != nil {
			return side{}, newError(reasonSchema, topic, "", "message type", err)
		}
		payload = s
	}
	bound, err := schema.Bind(schema.BindingJSON, DocSchema(payload))
	if err != nil {
		return side{}, newError(reasonSchema, topic, "", "line document", err)
	}
	dt, err := exchange.TypeOf(bound)
	if err != nil {
		return side{}, newError(reasonSchema, topic, "", "", err)
	}
	dt.Name = "line:" + topic + ":" + bound.Hash()

	return side{payload: payload, doc: dt}, nil
}

// validTopic: the reference parses the topic up to the first ':', and the
// peers around the only '→'; a topic with either would be read back as
// another line.
func validTopic(topic string) error {
	if topic == "" || strings.Contains(topic, ":") || strings.Contains(topic, arrow) {
		return newError(reasonInvalidTopic, topic, "", "a topic is non-empty and has no ':' or '→'", nil)
	}
	return nil
}

func validPeer(topic, local, peer string) error {
	switch {
	case peer == "" || strings.Contains(peer, arrow):
		return newError(reasonInvalidPeer, topic, peer, "a peer id is non-empty and has no '→'", nil)
	case peer == local:
		return newError(reasonInvalidPeer, topic, peer, "a line needs two peers", nil)
	case strings.Contains(local, arrow):
		return newError(reasonInvalidPeer, topic, peer, "the local peer id contains '→'", nil)
	}
	return nil
}
