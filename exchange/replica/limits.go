package replica

import "strconv"

// Limits bound what one payload may ask of a JSON replica (plain and LWW).
// They are checked before anything is applied — the size before parsing,
// the op count after — so a refused payload changes nothing and costs at
// most its parse. Refusals are errors with reason "limit".
//
// Within the limits a merge's cost is proportional to its size: list,
// text and richtext changes edit chunked values in place (O(√n) per change
// on a value of n items), set-op and tree changes indexed ones (O(1) per
// member or node they name), values are nested at most 512 levels, and a merge
// allocates a small multiple of its payload (the fuzz target checks it).
type Limits struct {
	// MaxPayloadBytes caps the data of one payload (Merge and
	// ResetFromEntirety). 0 means 64 MiB; negative means
	// no cap.
	MaxPayloadBytes int
	// MaxOps caps the ops of one since payload, all batches together (an
	// entirety counts one op per top-level key). 0 means 2^20 ops;
	// negative means no cap.
	MaxOps int
}

// Defaults of [Limits]. The payload cap is above the wire's default
// reassembly limit (50 MiB), so anything the transport delivers is
// accepted by default; the op cap allows a catch-up of a million single-op
// writes.
const (
	defaultMaxPayloadBytes = 64 << 20
	defaultMaxOps          = 1 << 20
)

func (l Limits) withDefaults() Limits {
	if l.MaxPayloadBytes == 0 {
		l.MaxPayloadBytes = defaultMaxPayloadBytes
	}
	if l.MaxOps == 0 {
		l.MaxOps = defaultMaxOps
	}
	return l
}

func limitError(what string, got, max int) error {
	return newError(reasonLimit, what+" "+strconv.Itoa(got)+" exceeds the limit of "+strconv.Itoa(max), nil)
}

// admitSize checks a payload's size before it is parsed.
func (l Limits) admitSize(p Payload) error {
	if l.MaxPayloadBytes > 0 && len(p.Data) > l.MaxPayloadBytes {
		return limitError("payload of bytes", len(p.Data), l.MaxPayloadBytes)
	}
	return nil
}

// admitOps checks the parsed batches before they are applied.
func (l Limits) admitOps(batches [][]Op) error {
	if l.MaxOps <= 0 {
		return nil
	}
	n := 0
	for _, b := range batches {
		n += len(b)
	}
	if n > l.MaxOps {
		return limitError("payload of ops", n, l.MaxOps)
	}
	return nil
}
