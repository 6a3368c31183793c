package wirecore

import (
	"fmt"
	"unicode/utf8"
)

// fragmentCount returns ceil(size/threshold) or the error the reference
// reports for that payload. Checks: empty payload, threshold, count.
func fragmentCount(size, threshold int) (int, error) {
	if size == 0 {
		return 0, newError(reasonEmptyPayload, "", nil)
	}
	if threshold <= 0 {
		return 0, newError(reasonInvalidThreshold, "", nil)
	}
	n := size / threshold
	if size%threshold != 0 {
		n++
	}
	if n > MaxFragments {
		return 0, newError(reasonTooManyFragments, fmt.Sprintf("%d pieces needed, at most %d allowed", n, MaxFragments), nil)
	}
	return n, nil
}

// FragmentBinary splits payload into binary fragment frames that all carry
// seq. Chunk i is payload[i*threshold : min((i+1)*threshold, len)], so the
// frames are threshold+18 bytes except the last. A payload no larger than
// threshold still yields one fragment frame: whether to fragment at all is
// the sender's decision (the transport's pipeline).
//
// Errors are *kyneta.Error with reason "empty-payload",
// "too-many-fragments" (more than [MaxFragments] pieces), or
// "invalid-threshold" for threshold <= 0. All frames share one
// allocation.
func FragmentBinary(payload []byte, threshold int, seq uint32) ([][]byte, error) {
	n, err := fragmentCount(len(payload), threshold)
	if err != nil {
		return nil, err
	}
	if uint64(len(payload)) > maxPayload {
		return nil, newError(reasonFrameTooLarge, "payload does not fit the 32-bit totalSize field", nil)
	}
	buf := make([]byte, len(payload)+n*FragmentHeaderSize)
	frames := make([][]byte, n)
	total := uint16(n)
	totalSize := uint32(len(payload))
	off := 0
	for i := range n {
		lo := i * threshold
		hi := min(lo+threshold, len(payload))
		end := off + FragmentHeaderSize + hi - lo
		fr := buf[off:end:end]
		putHeader(fr, KindFragment, uint32(hi-lo), seq)
		putMeta(fr, uint16(i), total, totalSize)
		copy(fr[FragmentHeaderSize:], payload[lo:hi])
		frames[i] = fr
		off = end
	}
	return frames, nil
}

// FragmentBinaryParts is [FragmentBinary] without copying the payload:
// each part is a fragment header (all headers share one allocation) and a
// slice of payload, so the caller must not modify payload while the parts
// are in use. Written head then body, the parts are byte for byte the
// frames FragmentBinary returns.
func FragmentBinaryParts(payload []byte, threshold int, seq uint32) ([]FramePart, error) {
	return FragmentSplitParts(nil, payload, nil, threshold, seq)
}

// FragmentSplitParts is [FragmentBinaryParts] for a payload in three
// segments, pre ‖ data ‖ post (see [AliasState.EncodeSplit]): the frames
// are those of the joined payload. pre, small, is copied behind the
// headers of the fragments it reaches; data and post are sliced.
func FragmentSplitParts(pre, data, post []byte, threshold int, seq uint32) ([]FramePart, error) {
	size := len(pre) + len(data) + len(post)
	n, err := fragmentCount(size, threshold)
	if err != nil {
		return nil, err
	}
	if uint64(size) > maxPayload {
		return nil, newError(reasonFrameTooLarge, "payload does not fit the 32-bit totalSize field", nil)
	}
	heads := make([]byte, 0, n*FragmentHeaderSize+len(pre))
	parts := make([]FramePart, n)
	total := uint16(n)
	totalSize := uint32(size)
	for i := range n {
		lo := i * threshold
		hi := min(lo+threshold, size)
		start := len(heads)
		heads = heads[:start+FragmentHeaderSize]
		h := heads[start:]
		putHeader(h, KindFragment, uint32(hi-lo), seq)
		putMeta(h, uint16(i), total, totalSize)
		heads = append(heads, segment(pre, 0, lo, hi)...)
		parts[i] = FramePart{
			Head: heads[start:len(heads):len(heads)],
			Body: segment(data, len(pre), lo, hi),
			Tail: segment(post, len(pre)+len(data), lo, hi),
		}
	}
	return parts, nil
}

// segment returns the part of seg, which starts at off in the payload,
// that lies in [lo, hi) (nil for none).
func segment(seg []byte, off, lo, hi int) []byte {
	a, b := max(lo-off, 0), min(hi-off, len(seg))
	if a >= b {
		return nil
	}
	return seg[a:b:b]
}

// textSize is the size of a text payload as the reference measures it:
// Unicode code points. s is expected to be valid UTF-8; each invalid byte
// would count as one.
func textSize(s string) int { return utf8.RuneCountInString(s) }

// FragmentText splits a text payload into text fragment frames that all
// carry seq. Sizes count Unicode code points, so a character outside the
// Basic Multilingual Plane (a surrogate pair in JavaScript) counts once and
// is never split. Invalid UTF-8 is first repaired to U+FFFD, since a
// JavaScript string cannot hold it. Errors are as for [FragmentBinary].
func FragmentText(payload string, threshold int, seq uint32) ([]string, error) {
	payload = wellFormed(payload)
	size := textSize(payload)
	n, err := fragmentCount(size, threshold)
	if err != nil {
		return nil, err
	}
	frames := make([]string, 0, n)
	var scratch []byte
	pos := 0
	for i := range n {
		// Advance threshold code points from pos.
		end := pos
		for k := 0; k < threshold && end < len(payload); k++ {
			if payload[end] < utf8.RuneSelf {
				end++
				continue
			}
			_, w := utf8.DecodeRuneInString(payload[end:])
			end += w
		}
		scratch = appendTextFragment(scratch[:0], seq, i, n, size, payload[pos:end])
		frames = append(frames, string(scratch))
		pos = end
	}
	return frames, nil
}
