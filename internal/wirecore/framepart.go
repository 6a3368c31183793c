package wirecore

// FramePart is a binary frame to be written as Head, Body, then Tail.
// Fragments of one message have their own Head (the 18-byte fragment
// header, and the first bytes of the message when they fall in it) and a
// Body that is a slice of the message's large value, so fragmenting copies
// nothing; Tail holds the fields after the value. A complete frame is all
// Head.
type FramePart struct {
	Head, Body, Tail []byte
}

// Len returns the frame's size.
func (p FramePart) Len() int { return len(p.Head) + len(p.Body) + len(p.Tail) }
