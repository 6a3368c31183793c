package postgres

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/kyneta-go/kyneta/exchange/replica"
	"github.com/kyneta-go/kyneta/exchange/store"
	"github.com/kyneta-go/kyneta/wire"
)

// entryJSON is the reference's payload column of an entry row. Binary data
// lives in the blob column instead of "data".
type entryJSON struct {
	Kind     string  `json:"kind"`
	Encoding string  `json:"encoding"`
	Version  string  `json:"version"`
	Data     *string `json:"data,omitempty"`
	Lineage  *string `json:"lineage,omitempty"`
}

// row is one kyneta_records row (without doc_id and seq).
type row struct {
	kind    string
	payload string
	blob    []byte // nil = NULL
}

func toRow(rec store.Record) (row, error) {
	switch rec.Kind {
	case store.KindMeta:
		b, err := json.Marshal(rec.Meta)
		if err != nil {
			return row{}, err
		}
		return row{kind: "meta", payload: string(b)}, nil
	case store.KindEntry:
		p := rec.Payload
		e := entryJSON{Kind: string(p.Kind), Encoding: string(p.Encoding), Version: rec.Version}
		if p.Lineage != "" {
			l := p.Lineage
			e.Lineage = &l
		}
		var blob []byte
		if p.Encoding == wire.Binary {
			blob = p.Data
			if blob == nil {
				blob = []byte{} // an empty binary payload is '', not NULL
			}
		} else {
			if !utf8.Valid(p.Data) {
				return row{}, &store.Error{Code: store.CodeInvalidRecord, Msg: "JSON payload is not valid UTF-8"}
			}
			d := string(p.Data)
			e.Data = &d
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false) // closer to JSON.stringify; both parse the same
		if err := enc.Encode(e); err != nil {
			return row{}, err
		}
		return row{kind: "entry", payload: string(bytes.TrimSuffix(buf.Bytes(), []byte("\n"))), blob: blob}, nil
	}
	return row{}, &store.Error{Code: store.CodeInvalidRecord, Msg: "record kind " + rec.Kind.String()}
}

func fromRow(r row) (store.Record, error) {
	switch r.kind {
	case "meta":
		var m store.Meta
		if err := json.Unmarshal([]byte(r.payload), &m); err != nil {
			return store.Record{}, err
		}
		return store.MetaRecord(m), nil
	case "entry":
		var e entryJSON
		if err := json.Unmarshal([]byte(r.payload), &e); err != nil {
			return store.Record{}, err
		}
		p := replica.Payload{Kind: wire.PayloadKind(e.Kind), Encoding: wire.PayloadEncoding(e.Encoding)}
		if p.Kind != wire.Entirety && p.Kind != wire.Since {
			return store.Record{}, fmt.Errorf("unknown payload kind %q", e.Kind)
		}
		if p.Encoding != wire.JSON && p.Encoding != wire.Binary {
			return store.Record{}, fmt.Errorf("unknown payload encoding %q", e.Encoding)
		}
		switch {
		case r.blob != nil:
			p.Data = r.blob
		case e.Data != nil:
			p.Data = []byte(*e.Data)
		default:
			return store.Record{}, errors.New("entry has neither data nor blob")
		}
		if e.Lineage != nil {
			p.Lineage = *e.Lineage
		}
		return store.EntryRecord(p, e.Version), nil
	}
	return store.Record{}, fmt.Errorf("unknown row kind %q", r.kind)
}
