package store

import (
	"fmt"

	"github.com/kyneta-go/kyneta/exchange/internal/storeerr"
)

// Replay feeds the entries of a loaded stream to apply, in order, and
// checks their continuity: apply absorbs one entry and returns the
// document's version afterwards, which must be the version stored with
// the entry. A delta stored twice, or one missing between two others,
// shows as a mismatch there, because every entry is stored at the version
// its writer reached by applying it to the one before.
//
// Replay stops at the first entry apply rejects (the cause is wrapped) or
// whose version does not match, and returns a [*CorruptError] whose Good
// and LastVersion describe the prefix that was applied (nil means every
// record was used); the caller's
// document then holds that prefix plus whatever the bad entry changed
// before it was refused, so it should rebuild from the prefix (or from
// another copy) rather than use it. Meta records are not passed to apply.
func Replay(docID string, recs []Record, apply func(Record) (string, error)) error {
	var good int
	var last string
	for i, r := range recs {
		if r.Kind != KindEntry {
			good = i + 1
			continue
		}
		got, err := apply(r)
		if err != nil {
			return &CorruptError{DocID: docID, Reason: storeerr.Rejected, Index: i, Seq: -1,
				Good: good, LastVersion: last,
				Detail: fmt.Sprintf("entry at version %s was refused", quote(r.Version)), Err: err}
		}
		if got != r.Version {
			return &CorruptError{DocID: docID, Reason: storeerr.VersionGap, Index: i, Seq: -1,
				Good: good, LastVersion: last,
				Detail: fmt.Sprintf("entry stored at version %s led to version %s", quote(r.Version), quote(got))}
		}
		good, last = i+1, r.Version
	}
	return nil
}
