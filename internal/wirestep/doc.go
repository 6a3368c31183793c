// Package wirestep holds the pipeline steps the transports run over wire:
// a send step (alias → encode → one frame, or fragments above a threshold)
// and a receive step (reassemble → decode → unalias), each a function of
// the connection's [PipelineState], with failures as *[WireError] values
// carrying the reference's codes. The steps are the Go form of the
// reference's sendStep and receiveStep; internal/pipeline and the SSE
// transport are their shells. They run over internal/wirecore (the alias
// table, both codecs, frames and reassembly); users encode and decode
// through package wire and see step failures as the pipeline's errors (internal/pipeline.Error).
package wirestep
