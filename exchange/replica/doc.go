// Package replica holds the document backends the exchange synchronizes:
// versions, payloads, the [Replica] and [Factory] interfaces, and the
// built-in replicas, all wire-compatible with the TypeScript reference
// (halecraft/kyneta).
//
// # Replicas
//
//   - plain (from [NewPlainFactory], replica type ("plain",1,0), AUTHORITATIVE):
//     the materialized JSON state plus a log of batches, one per flush (a
//     local transaction or a merged batch). Versions are "<lineage>:<n>"
//     ([PlainVersion]); since payloads are the JSON array of batches after
//     the peer's version; entireties are the state object.
//   - LWW (from [NewLWWFactory], same replica type, EPHEMERAL): the same state
//     versioned by wall-clock milliseconds ([TimestampVersion]); every export
//     is the entirety.
//   - state (from [NewStateFactory], ("state",1,0), EPHEMERAL): a field-level
//     last-writer-wins tree whose leaves are [value, timestampMs]; merges
//     join field by field, versions ([StateVersion]) are concurrent unless
//     equal or one is the never-written 0, and only entireties travel.
//   - opaque (from [NewOpaqueFactory], any other replica type such as Loro or
//     Yjs): a relay that stores payloads it cannot read, deduplicated by
//     content, and replays them as several offers ([MultiExporter]), each
//     relabelled "since" and stamped with the version it arrived with.
//
// Replicas are not safe for concurrent use; the exchange serializes calls.
//
// # Lineages
//
// A plain replica starts at genesis ("kyneta.genesis:0"). Its first local
// [Document.Apply] mints a random 16-hex-character lineage; a merge while
// still at genesis adopts the sender's lineage instead (merges never
// mint); [Replica.ResetFromEntirety] adopts the sender's lineage and
// counter. Comparing versions projects them onto version vectors (genesis =
// the empty vector), so genesis is behind any real lineage and two
// different real lineages are concurrent — the exchange's cue for a reset.
//
// # Documents and changes
//
// A [Document] is a replica the exchange interprets: [Document.Apply]
// commits [Op]s (a [Path] plus a [Change]) as one transaction, and the change
// hook reports every version step with a Remote flag for merges, which is
// the echo guard. Changes use the reference's vocabulary and JSON ("replace",
// "map", "sequence", "text", "increment", "set-op", "tree", "richtext");
// [NewChange] wraps one such object (the exchange's Tx builds the shapes
// the reference's writers produce). Text indices count UTF-16 code units,
// as JavaScript strings do.
//
// A change type the replica does not know is an error (reason "unknown-change")
// for documents and local writes. A headless replica ([Factory.CreateEmpty])
// still logs and forwards it, so a relay can carry changes it cannot
// interpret; only its entirety is then unavailable (reason "unmaterializable").
//
// # JSON
//
// State and change values use a small value model (nil, bool, float64,
// string, []any, *[Object]) parsed by [ParseValue] and encoded
// exactly like JSON.parse and JSON.stringify, including
// JavaScript's property order, so payloads are byte-identical with the
// reference's.
//
// # Cost, limits and compaction
//
// Lists that sequence changes touch, strings that text changes touch and
// span lists that richtext changes touch are held in chunked forms inside
// the state (never visible outside it), so a change costs O(√n) on a
// value of n items; sets and forests that set-op and tree changes touch
// are held indexed by member and node id, so a change costs O(1) per
// member or node it names. A merge grows with the number of changes, not
// with changes × value size. Plain and LWW
// replicas check [Limits] (payload bytes, ops per payload) before applying
// anything and refuse with reason "limit".
//
// A plain replica's history is its op log after the base. [HistoryReporter.History]
// reports its size; [Replica.Advance] trims it up to a version and frees
// it, after which ExportSince of an older version answers ok=false and the
// exchange sends the entirety instead. Advancing to the least version all
// peers have confirmed keeps deltas for all of them.
//
// # Exchange integration notes
//
// A plain entirety absorbed with Merge counts as one flush (the reference's
// behaviour, §10.3 item 16), so the receiver's counter can differ from the
// sender's; when a genesis replica takes an entirety whose offer version is
// known, ResetFromEntirety keeps the counters aligned. The interfaces
// [MultiExporter], [SetUnion], [StampedMerger] and [PeerVersioner] are for
// replicas such as the opaque relay that need more than Merge and
// ExportSince.
package replica
