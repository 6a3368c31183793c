// Package wire is a byte-exact implementation of the Kyneta wire protocol:
// binary wire v3 (CBOR messages in 10-byte-header frames) and text wire v2
// (JSON messages in "2c"/"2f" frames), as the TypeScript reference puts
// them on the socket.
//
// Everything here is pure: no goroutines, no I/O. The only time-dependent
// part, the reassembly timeout, runs on an injected [clock.Clock].
//
// # Layers
//
// From the exchange's view down to the bytes:
//
//   - Messages. A [ChannelMsg] ([Establish], [Present], [Offer], ...) is
//     what the exchange sends: full document ids and schema hashes. Its
//     compact wire form is a [wireMessage], encoded as a CBOR map with the
//     reference's key order ([encodeMessage], [decodeMessage]) or as
//     JSON.stringify-exact text ([encodeTextMessage], [decodeTextMessage]).
//     Decoders apply the reference's accept/reject rules and report
//     *[ValidationError] or *[DecodeError].
//   - Aliases. [aliasOutbound] and [aliasInbound] translate between the two
//     forms with a per-connection [AliasState], replacing long identifiers
//     by numbers once both peers advertised the alias feature. The table
//     is updated in place (its owner serializes the calls), so a
//     connection pays O(1) per announced document.
//   - Frames. [AppendFrame] and [DecodeFrame] write and read binary frames
//     (complete, or fragment with index/total/totalSize); decoding does not
//     copy the payload and neither direction allocates for the header.
//     [AppendTextFrame] and [DecodeTextFrame] are the text equivalents.
//     Errors are *[FrameError] and *[TextFrameError] with the reference's
//     codes.
//   - Fragments. [FragmentBinary] and [FragmentText] split a payload into
//     fragment frames of at most threshold bytes (code points for text; a
//     character is never split).
//   - Reassembly. [decideFragment] is the collector's pure decision for one
//     fragment; a [fragmentCollector] applies it with limits and timers, and a
//     [Reassembler] turns received pieces into whole payloads.
//   - Streams. A [StreamParser] cuts a plain byte stream into frames.
//   - Pipeline. [SendStep] and [ReceiveStep] compose the layers for one
//     connection state ([PipelineState]) and a [Codec] ([BinaryCodec] or
//     [TextCodec]): alias, encode, then frame or fragment when the encoded
//     payload is larger than the threshold; reassemble, decode, de-alias.
//     Every send consumes one sequence number (starting at 1), also when it
//     fails. Failures are *[WireError] values with the reference's codes;
//     the steps never panic. A transport wraps these steps with its locks,
//     callbacks and socket.
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
// reproduce the reference exactly where that is wanted. The stream parser
// rejects frames above 64 MiB by default, and the inbound alias layer caps
// document ids at 512 and schema hashes at 256 UTF-8 bytes, including in
// present messages, a present at 50,000 entries and a connection at
// 100,000 announced document (and schema) aliases. [decodeMessage] reads
// CBOR straight into the message shape, so ignored fields cost no memory;
// it refuses maps of more than 64 pairs and messages that would take more
// than 4 bytes of memory per input byte (plus a fixed allowance per present
// entry) with [ErrDecodeLimit]. Reassembly limits count the memory actually
// reserved, and a [ReassemblyBudget] can cap it across connections.
//
// The golden vectors of the reference (the project's testdata/wire, or
// $KYNETA_WIRE_VECTORS) are checked by this package's tests.
package wire
