// Package wire is a byte-exact implementation of the Kyneta wire protocol
// as the TypeScript reference puts it on the socket: binary wire v3 (CBOR
// messages in 10-byte-header frames). It is for people embedding the
// client or server who want to see the messages, for transport authors,
// and for decoding captured frames.
//
// The codec is pure: encoding, decoding, framing and fragmenting are
// functions of their input, with no goroutines, no I/O and no clock. The
// reassembler holds partial messages between calls, but it too arms no
// timers and starts no goroutines: it reads the clock given in
// [ReassemblyConfig] (the wall clock by default) to give each partial
// message a deadline, and timeouts are inputs. Nothing fires by itself:
// the caller calls [Reassembler.Expire] with the current time, e.g. from
// its own timer set for [Reassembler.NextDeadline], and the messages that
// are due are dropped and reported through ReassemblyConfig.OnEvent on
// the caller's goroutine. The module's transports own that timer. A
// [ReassemblyBudget] is shared between connections and safe for
// concurrent use.
//
// # Layers
//
// From the exchange's view down to the bytes:
//
//   - Messages. A [ChannelMsg] ([Establish], [Present], [Offer], ...) is
//     what the exchange sends: full document ids and schema hashes.
//     [Encode] and [Decode] convert one to the CBOR map the reference
//     writes (its compact form, keys in the reference's order). Decoding
//     applies the reference's accept/reject rules.
//   - Frames. [AppendFrame] and [DecodeFrame] write and read binary frames
//     (complete, or fragment with index/total/totalSize); decoding does not
//     copy the payload and neither direction allocates for the header.
//   - Fragments. [FragmentBinary] splits a payload into fragment frames of
//     at most threshold bytes.
//   - Reassembly. A [Reassembler] turns received frames into whole
//     payloads, with the limits and timeout of a [ReassemblyConfig]
//     (a deadline per message, enforced by Expire).
//   - Connections. On a connection, long identifiers are replaced by
//     numeric aliases once both peers advertised the alias feature, and
//     the text form (JSON messages in "2c"/"2f" frames) is used over SSE.
//     The transports' pipelines (internal/pipeline, the SSE transport)
//     keep that per-connection state: alias, encode, then frame or
//     fragment when the encoded payload is larger than the threshold;
//     reassemble, decode, de-alias. [AliasOptions] caps what a peer may
//     announce; failures are internal/pipeline.Error values with the
//     reference's pipeline codes as reasons.
//
// # Errors
//
// Every error of the package is a *kyneta.Error with Pkg "wire", or
// unwraps to one (*[ReassemblyError] and *[ValidationError] carry data of
// their own): its Reason is the reference's code where it has one
// ("truncated_frame", "evicted", "unknown-doc-alias"), its Code says what
// to do (kyneta.CodeMalformed for a peer's bad bytes,
// kyneta.CodeResourceExhausted for a limit). kyneta.ReasonOf and
// kyneta.CodeOf return them, and errors.Is(err, &kyneta.Error{Pkg: "wire",
// Reason: r}) matches one condition. docs/errors.md lists every reason.
//
// # Safe defaults
//
// The reference reassembles without limits unless configured. Here the zero
// [ReassemblyConfig] bounds every connection: a message must complete
// within 10 s of its first fragment, at most 32 messages may be partial at
// once and at most 50 MiB of chunks may be buffered, with the oldest
// message evicted beyond either limit (reported through
// ReassemblyConfig.OnEvent); the size limit also applies to a message's
// first fragment. A negative limit and ReassemblyConfig.ReferenceSizeCheck
// reproduce the reference exactly where that is wanted. The inbound alias
// layer caps document ids at 512 and schema hashes at 256 UTF-8 bytes,
// including in present messages, a present at 50,000 entries and a
// connection at 100,000 announced document (and schema) aliases. [Decode]
// reads CBOR straight into the message shape, so ignored fields cost no
// memory; it refuses maps of more than 64 pairs and messages that would
// take more than 4 bytes of memory per input byte (plus a fixed allowance
// per present entry) with reason "limit". Reassembly limits count the
// memory actually reserved, and a [ReassemblyBudget] can cap it across
// connections.
//
// The implementation, with the alias and text layers, lives in an internal
// package of this module; its tests check the golden vectors of the
// reference (the project's testdata/wire, or $KYNETA_WIRE_VECTORS).
package wire
