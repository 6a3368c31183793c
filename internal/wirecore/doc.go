// Package wirecore implements the Kyneta wire protocol behind package wire:
// the message types and their CBOR and JSON codecs, the per-connection
// alias layer ([AliasState]), binary and text frames, fragmentation and
// reassembly. Package wire re-exports what users need (messages, Encode
// and Decode, binary frames, the fragmenter and the binary reassembler);
// the alias layer, the text-frame layer and the helpers the transports
// use (text reassembly, two-part fragments, header sizes) stay here, for
// the transport, server and SSE packages of this module.
//
// The codec arms no timers and starts no goroutines, the reassemblers
// included: a partial message records a deadline read from the injected
// clock, and timeouts are inputs (Reassembler.Expire, with
// Reassembler.NextDeadline for when to call it). The shells own the
// timers: internal/pipeline's ExpiryTimer, used by the pipeline and the
// SSE transport, keeps one per connection.
//
// Errors are those of package wire (Pkg "wire"), so messages, reasons and
// the vectors are the same whichever package a caller goes through; see
// the wire package documentation. The golden vectors of the reference (the
// project's testdata/wire, or $KYNETA_WIRE_VECTORS) are checked by this
// package's tests.
package wirecore
