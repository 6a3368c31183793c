// Package wire is a byte-exact implementation of the Kyneta wire protocol:
// binary wire v3 (CBOR messages in 10-byte-header frames) and text wire v2
// (JSON messages in "2c"/"2f" frames), as the TypeScript reference puts
// them on the socket.
//
// The codec is pure: encoding, decoding, framing and fragmenting are
// functions of their input, with no goroutines, no I/O and no clock. The
// reassembler is not: it holds partial messages between calls, and its
// timeout arms a timer on the [clock.Clock] given in [ReassemblyConfig]
// (the wall clock by default) whose expiry drops the message and reports
// it through ReassemblyConfig.OnEvent, on the clock's goroutine. A
// [ReassemblyBudget] is shared between connections and safe for concurrent
// use.
//
// # Layers
//
// From the exchange's view down to the bytes:
//
//   - Messages. A [ChannelMsg] ([Establish], [Present], [Offer], ...) is
//     what the exchange sends: full document ids and schema hashes.
//     [Encode] and [Decode] convert one to the CBOR map the reference
//     writes (its compact form, keys in the reference's order), and
//     [EncodeText] and [DecodeText] to the JSON.stringify-exact text form.
//     Decoders apply the reference's accept/reject rules and report
//     *[ValidationError], *[Error] or *[AliasError].
//   - Aliases. On a connection, long identifiers are replaced by numbers
//     once both peers advertised the alias feature; the per-connection
//     [AliasState] is updated in place by the pipeline steps (its owner
//     serializes the calls), so a connection pays O(1) per announced
//     document. [AliasOptions] caps what a peer may announce.
//   - Frames. [AppendFrame] and [DecodeFrame] write and read binary frames
//     (complete, or fragment with index/total/totalSize); decoding does not
//     copy the payload and neither direction allocates for the header.
//     [AppendTextFrame] and [DecodeTextFrame] are the text equivalents.
//     Errors are *[Error] values with the reference's codes.
//   - Fragments. [FragmentBinary] and [FragmentText] split a payload into
//     fragment frames of at most threshold bytes (code points for text; a
//     character is never split).
//   - Reassembly. A [Reassembler] turns received pieces into whole
//     payloads, with the limits and timeout of a [ReassemblyConfig].
//   - Errors. Every error of the package has a [Code] (the reference's
//     codes where it has one): [CodeOf] returns it, and errors.Is(err,
//     &Error{Code: c}) matches it whatever the error's type (*[Error],
//     *[ReassemblyError], *[AliasError], *[ValidationError]).
//   - Connections. An [AliasState] is one connection's alias table; its
//     Encode and Decode methods (and EncodeText, DecodeText) are the
//     package functions with aliases remembered across messages. The
//     transports' pipelines (internal/pipeline) compose it with frames,
//     fragments and reassembly: alias, encode, then frame or fragment when
//     the encoded payload is larger than the threshold; reassemble, decode,
//     de-alias. Every send consumes one sequence number (starting at 1),
//     also when it fails; failures are internal/pipeline.Error values with
//     the reference's pipeline codes.
//
// # Safe defaults
//
// The reference reassembles without limits unless configured. Here the zero
// [ReassemblyConfig] bounds every connection: a message must complete
// within 10 s of its first fragment, at most 32 messages may be partial at
// once and at most 50 MiB of chunks may be buffered, with the oldest
// message evicted beyond either limit (reported through
// [ReassemblyConfig.OnEvent]); the size limit also applies to a message's
// first fragment. [NoLimit] and [ReassemblyConfig.ReferenceSizeCheck]
// reproduce the reference exactly where that is wanted. The inbound alias
// layer caps document ids at 512 and schema hashes at 256 UTF-8 bytes,
// including in present messages, a present at 50,000 entries and a
// connection at 100,000 announced document (and schema) aliases. [Decode]
// reads CBOR straight into the message shape, so ignored fields cost no memory;
// it refuses maps of more than 64 pairs and messages that would take more
// than 4 bytes of memory per input byte (plus a fixed allowance per present
// entry) with [CodeDecodeLimit]. Reassembly limits count the memory actually
// reserved, and a [ReassemblyBudget] can cap it across connections.
//
// The golden vectors of the reference (the project's testdata/wire, or
// $KYNETA_WIRE_VECTORS) are checked by this package's tests.
package wire
