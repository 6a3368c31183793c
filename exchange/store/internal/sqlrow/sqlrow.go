// Package sqlrow encodes store records as the rows of the reference's SQL
// layout (kind, payload, blob), shared by the SQLite and PostgreSQL
// backends so both write and read byte-identical rows.
package sqlrow

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/kyneta-go/kyneta/exchange/internal/storeerr"
	"github.com/kyneta-go/kyneta/exchange/replica"
	"github.com/kyneta-go/kyneta/exchange/store"
	"github.com/kyneta-go/kyneta/wire"
)

// Row is one record row without its document id and sequence number.
type Row struct {
	Kind    string // "meta" or "entry"
	Payload string // JSON
	Blob    []byte // binary entry data; nil is SQL NULL
}

// entryJSON is the reference's payload of an entry row. Binary data lives
// in the blob column instead of "data".
type entryJSON struct {
	Kind     string  `json:"kind"`
	Encoding string  `json:"encoding"`
	Version  string  `json:"version"`
	Data     *string `json:"data,omitempty"`
	Lineage  *string `json:"lineage,omitempty"`
}

// FromRecord encodes rec. A JSON payload that is not valid UTF-8 cannot be
// stored in a text column and is refused with reason "invalid-record".
func FromRecord(rec store.Record) (Row, error) {
	switch rec.Kind {
	case store.KindMeta:
		b, err := json.Marshal(rec.Meta)
		if err != nil {
			return Row{}, err
		}
		return Row{Kind: "meta", Payload: string(b)}, nil
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
				blob = []byte{} // an empty binary payload is an empty blob, not NULL
			}
		} else {
			if !utf8.Valid(p.Data) {
				return Row{}, storeerr.New(storeerr.InvalidRecord, "", "JSON payload is not valid UTF-8", nil)
			}
			d := string(p.Data)
			e.Data = &d
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false) // closer to JSON.stringify; both parse the same
		if err := enc.Encode(e); err != nil {
			return Row{}, err
		}
		return Row{Kind: "entry", Payload: string(bytes.TrimSuffix(buf.Bytes(), []byte("\n"))), Blob: blob}, nil
	}
	return Row{}, storeerr.New(storeerr.InvalidRecord, "", "record kind "+rec.Kind.String(), nil)
}

// Record decodes r.
func (r Row) Record() (store.Record, error) {
	switch r.Kind {
	case "meta":
		var m store.Meta
		if err := json.Unmarshal([]byte(r.Payload), &m); err != nil {
			return store.Record{}, err
		}
		return store.MetaRecord(m), nil
	case "entry":
		var e entryJSON
		if err := json.Unmarshal([]byte(r.Payload), &e); err != nil {
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
		case r.Blob != nil:
			p.Data = r.Blob
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
	return store.Record{}, fmt.Errorf("unknown row kind %q", r.Kind)
}

// EntryVersion reads the version from an entry row's payload alone.
func EntryVersion(payload string) (string, error) {
	var e entryJSON
	if err := json.Unmarshal([]byte(payload), &e); err != nil {
		return "", err
	}
	return e.Version, nil
}

// FormatVersion is the store format the SQL backends write and read
// ({"major":1,"minor":0}), shared with the reference's persistent stores.
var FormatVersion = struct{ Major, Minor int }{1, 0}
