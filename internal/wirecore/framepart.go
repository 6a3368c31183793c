package wirecore

// FramePart is a binary frame to be written as Head followed by Body.
// Fragments of one message have their own Head (the 18-byte fragment
// header) and a Body that is a slice of the one encoded message, so
// fragmenting copies nothing; a complete frame is all Head.
type FramePart struct {
	Head, Body []byte
}

// Len returns the frame's size.
func (p FramePart) Len() int { return len(p.Head) + len(p.Body) }
