// Package framestream cuts a plain byte stream (a Unix socket, a pipe) into
// Kyneta binary frames, using the length in each frame's header: the
// reference's frame stream parser, which its Unix-socket transport uses.
// No transport of this module speaks a raw byte stream yet; the parser is
// kept, with the reference's stream_parser vectors, for the one that will.
//
// Unlike the reference it rejects frames above a maximum size
// ([DefaultMaxFrameSize] unless configured) with an error of reason
// "frame_too_large".
package framestream
