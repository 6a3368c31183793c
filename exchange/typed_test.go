package exchange

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kyneta-go/kyneta"
	"github.com/kyneta-go/kyneta/schema"
)

// note mirrors the interop harness's default TS schema:
// Schema.struct({title: string, count: number, body: string, data: any}).
type note struct {
	Title string  `json:"title"`
	Count float64 `json:"count"`
	Body  string  `json:"body"`
	Data  any     `json:"data,omitempty"`
}

// The TS hash of that schema, from the interop harness's README.
const noteHash = "0280abfab43523f087d591c1208a15e5a7"

func TestTypedDocHashZeroAndValidation(t *testing.T) {
	n := newTestNet(t)
	a, b := n.peer("a"), n.peer("b")
	ta, err := Bind[note](a, "n", schema.BindingJSON)
	if err != nil {
		t.Fatal(err)
	}
	if got := ta.Type().SchemaHash; got != noteHash {
		t.Fatalf("hash %s, want the TS hash %s", got, noteHash)
	}
	// TS readers see the schema's zero values; so do Go readers.
	wantJSON(t, ta.Doc, `{"title":"","count":0,"body":""}`)

	// A write that does not fit the schema is refused, naming the path.
	err = ta.Update(func(tx *Tx) error { tx.Set(P("count"), "seven"); return nil })
	var se *schema.Error
	if kyneta.ReasonOf(err) != reasonInvalidChange || !errors.As(err, &se) || se.Path != "$.count" {
		t.Fatalf("invalid write: %v", err)
	}
	if err := ta.Set(note{Title: "hello", Count: 3}); err != nil {
		t.Fatal(err)
	}
	tb, err := Bind[note](b, "n", schema.BindingJSON)
	if err != nil {
		t.Fatal(err)
	}
	n.settle()
	waitSync(t, tb.Doc)
	got, err := tb.Value()
	if err != nil || got.Title != "hello" || got.Count != 3 {
		t.Fatalf("b reads %+v (%v)", got, err)
	}
	if err := tb.Modify(func(v *note) error { v.Count++; return nil }); err != nil {
		t.Fatal(err)
	}
	n.settle()
	if got, _ := ta.Value(); got.Count != 4 {
		t.Fatalf("a reads %+v", got)
	}
	// Binding the same type again gives the same document.
	if again, err := Bind[note](a, "n", schema.BindingJSON); err != nil || again.Doc != ta.Doc {
		t.Fatalf("second Bind: %v", err)
	}
}

// A schema-hash mismatch is reported by WaitForSync as such, with both
// hashes, instead of a timeout.
func TestWaitForSyncReportsSchemaMismatch(t *testing.T) {
	n := newTestNet(t)
	a, b := n.peer("a"), n.peer("b")
	da := mustGet(t, a, "d", JSONDoc("hash-a"))
	update(t, da, func(tx *Tx) { tx.Set(P("x"), 1) })
	n.settle()
	db := mustGet(t, b, "d", JSONDoc("hash-b"))
	n.settle()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := db.WaitForSync(ctx)
	var e *kyneta.Error
	if !errors.Is(err, &kyneta.Error{Pkg: "exchange", Reason: reasonSchemaMismatch}) || !errors.As(err, &e) || !strings.Contains(e.Detail, "hash-a") || !strings.Contains(e.Detail, "hash-b") {
		t.Fatalf("WaitForSync = %v", err)
	}
}
