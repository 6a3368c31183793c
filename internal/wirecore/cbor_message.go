package wirecore

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"unsafe"

	"github.com/kyneta-go/kyneta"
	"github.com/kyneta-go/kyneta/internal/jsjson"
	"github.com/kyneta-go/kyneta/internal/rawbuf"
)

// decodeMessage reads CBOR straight into the message shape. The generic
// value model (decodeValue) boxes every item, so a hostile message of
// small items (empty arrays and maps in an ignored field) used to cost
// about 40 times its size before its shape was even checked. Here:
//
//  1. the whole item is checked for well-formedness and the reference's
//     extra rules (minimal heads, float16, map keys) without building
//     anything, so every decode error still comes before any validation
//     error, as in the reference;
//  2. the known fields are located, validated in the reference's order,
//     and only they are built. Unknown fields cost no memory.
//
// Memory taken by a decode stays within a budget of 4 bytes per input
// byte plus a fixed allowance per present entry (the Go struct of an entry
// is larger than its smallest CBOR form); a message beyond the budget or
// the caps below fails with reason "limit".

// Decoder caps (Go only: the reference has none besides its stack).
const (
	// maxMapPairs caps the pairs of any CBOR map in a message. Message
	// maps have at most nine known keys; the cap leaves room for fields a
	// later protocol version may add, and bounds the duplicate-key check.
	maxMapPairs = 64
	// entryAllowance is the memory granted per present entry on top of
	// the per-byte budget: a wireDocEntry and its two number pointers.
	entryAllowance = int(unsafe.Sizeof(wireDocEntry{})) + 16
	// budgetSlack covers the fixed costs of a small message.
	budgetSlack = 4 << 10
	// budgetPerByte is the memory a decode may take per input byte.
	budgetPerByte = 4
)

func limitError(format string, args ...any) *kyneta.Error {
	return newError(reasonDecodeLimit, fmt.Sprintf(format, args...), nil)
}

// keyDesc is a map key under the reference's Map equality (SameValueZero,
// text compared after TextDecoder repair).
type keyDesc struct {
	text []byte  // repaired text for string keys (aliases the input when already clean)
	num  float64 // number keys
	kind uint8   // 1 string, 2 number, 3 NaN
}

func (a *keyDesc) equal(b *keyDesc) bool {
	if a.kind != b.kind {
		return false
	}
	switch a.kind {
	case 1:
		return string(a.text) == string(b.text)
	case 2:
		return a.num == b.num
	}
	return true
}

// msgDecoder holds one decode's input and scratch. Decoders are pooled:
// the key stack of the duplicate check is reused between messages.
type msgDecoder struct {
	data []byte
	off  int
	keys []keyDesc // keys of the maps being checked, innermost last
	// keysHigh is the most keys held at once in this decode: the part of
	// keys' array that may alias the input.
	keysHigh int
	budget   int
	// owned: data belongs to the decoder's caller alone and is never
	// written again (a reassembled message), so an offer's payload may
	// share it instead of being copied.
	owned bool
	// top holds the known fields of the top-level map, located while
	// check walks it, so message needs no second walk.
	top fields
}

var decoderPool = sync.Pool{New: func() any { return &msgDecoder{keys: make([]keyDesc, 0, 64)} }}

// decodeMessage decodes a CBOR wire message. Keys may come in any order,
// unknown keys are ignored and undefined values count as absent. Bytes that
// are not CBOR the reference accepts give a *kyneta.Error; a well-formed
// value that is not a valid message gives a *ValidationError with the
// reference's reason and path. A message beyond the decoder's caps (maps of
// more than 64 pairs, more than defaultMaxPresentDocs present entries,
// memory beyond a small multiple of its size) gives an error with
// reason "limit". The result never aliases
// data.
func decodeMessage(data []byte) (wireMessage, error) {
	wm, _, err := decodeMsg(data, false, nil)
	return wm, err
}

// offerSink receives an offer decoded without allocating its wire form:
// the caller keeps it on its stack. The document reference is held by
// value (doc or dx) instead of through wireDocRef's pointers, and a doc id
// equal to recentDoc is that string, not a new copy.
type offerSink struct {
	w         wireOffer // wireDocRef left empty
	doc       string
	hasDoc    bool
	dx        float64
	hasDX     bool
	recentDoc string
}

// decodeMsg decodes data. When sink is not nil and the message is an
// offer, it is built into *sink and isOffer is true; otherwise the
// message is returned.
func decodeMsg(data []byte, owned bool, sink *offerSink) (wm wireMessage, isOffer bool, err error) {
	if len(data) == 0 {
		return nil, false, newError(reasonDecodeCBOR, "", errNoData)
	}
	// check applies every well-formedness rule (and the reference's
	// stricter ones) in its one walk, so no separate Wellformed pass.
	d := decoderPool.Get().(*msgDecoder)
	d.data, d.off, d.owned = data, 0, owned
	d.top = fields{}
	d.budget = budgetPerByte*len(data) + budgetSlack
	wm, isOffer, err = d.decode(sink)
	d.release()
	decoderPool.Put(d)
	return wm, isOffer, err
}

// release drops every reference d holds to the message it decoded, so the
// pool keeps none alive: keys may alias the input.
func (d *msgDecoder) release() {
	clear(d.keys[:d.keysHigh])
	d.keys, d.keysHigh = d.keys[:0], 0
	d.data = nil
}

func (d *msgDecoder) decode(sink *offerSink) (wireMessage, bool, error) {
	if err := d.check(0); err != nil {
		var de *kyneta.Error
		if errors.As(err, &de) {
			return nil, false, de
		}
		return nil, false, newError(reasonDecodeCBOR, "", err)
	}
	if d.off != len(d.data) {
		return nil, false, newError(reasonDecodeCBOR, "", errExtraData)
	}
	if sink != nil && d.view(0).kind == vMap {
		if t, ok := d.number(int(d.top[kT])); ok && d.top[kT] != 0 && t == float64(TypeOffer) {
			return nil, true, d.offerInto(&d.top, &sink.w, sink)
		}
	}
	wm, err := d.message()
	return wm, false, err
}

// arg reads the argument of a head (see cborReader.arg).
func (d *msgDecoder) arg(ai byte) (uint64, error) {
	r := cborReader{data: d.data, off: d.off}
	a, err := r.arg(ai)
	d.off = r.off
	return a, err
}

// check walks one item, applying every rule decodeValue applies, and
// builds nothing (the key stack aside).
func (d *msgDecoder) check(depth int) error {
	if d.off >= len(d.data) {
		return errTruncated
	}
	ib := d.data[d.off]
	d.off++
	major, ai := ib>>5, ib&0x1f
	switch major {
	case 6:
		return errUnsupported
	case 7:
		r := cborReader{data: d.data, off: d.off}
		_, err := r.simple(ai)
		d.off = r.off
		return err
	}
	a, err := d.arg(ai)
	if err != nil {
		return err
	}
	switch major {
	case 0, 1:
		return nil
	case 2, 3:
		if a > maxSafeInteger {
			return errLengthTooLarge
		}
		if uint64(len(d.data)-d.off) < a {
			return errTruncated
		}
		d.off += int(a)
		return nil
	case 4:
		if depth >= maxNesting {
			return errTooDeep
		}
		if a > uint64(len(d.data)-d.off) {
			return errTruncated
		}
		for range int(a) {
			if err := d.check(depth + 1); err != nil {
				return err
			}
		}
		return nil
	}
	// major 5
	if depth >= maxNesting {
		return errTooDeep
	}
	if a > uint64(len(d.data)-d.off)/2 {
		return errTruncated
	}
	if a > maxMapPairs {
		return limitError("map of %d pairs (at most %d)", a, maxMapPairs)
	}
	base := len(d.keys)
	var seen uint32 // known keys met in this map
	for range int(a) {
		var k keyDesc
		if d.off >= len(d.data) {
			return errTruncated
		}
		if ib := d.data[d.off]; ib >= 0x60 && ib < 0x78 && d.off+1+int(ib-0x60) <= len(d.data) {
			// A short text key, the usual case: its head is the byte itself.
			start := d.off + 1
			d.off = start + int(ib-0x60)
			t, clean := cleanText(d.data[start:d.off])
			if !clean {
				t = jsjson.AppendWellFormed(nil, stripBOM(d.data[start:d.off]))
			}
			k = keyDesc{kind: 1, text: t}
		} else {
			start := d.off
			if err := d.check(depth + 1); err != nil {
				return err
			}
			var ok bool
			if k, ok = d.keyAt(start); !ok {
				return errMapKeyType
			}
		}
		// A known key can only equal itself, so known keys are checked
		// for duplicates with one bit each; only other keys are compared
		// with each other.
		known := -1
		if k.kind == 1 {
			known = knownKey(k.text)
		}
		if known >= 0 {
			if seen&(1<<known) != 0 {
				return errDuplicateKey
			}
			seen |= 1 << known
		} else {
			for i := base; i < len(d.keys); i++ {
				if d.keys[i].equal(&k) {
					return errDuplicateKey
				}
			}
			d.keys = append(d.keys, k)
			d.keysHigh = max(d.keysHigh, len(d.keys))
		}
		valAt := d.off
		if err := d.check(depth + 1); err != nil {
			return err
		}
		if depth == 0 && known >= 0 && d.data[valAt] != 0xf7 { // undefined is absent
			d.top[known] = int32(valAt)
		}
	}
	d.keys = d.keys[:base]
	return nil
}

// keyAt describes the (checked) item at off as a map key; ok is false for
// anything but text and numbers.
func (d *msgDecoder) keyAt(off int) (keyDesc, bool) {
	v := d.view(off)
	switch v.kind {
	case vText:
		raw := d.data[v.body : v.body+int(v.arg)]
		if t, clean := cleanText(raw); clean {
			return keyDesc{kind: 1, text: t}, true
		}
		// Repair once per key (hostile input only).
		return keyDesc{kind: 1, text: jsjson.AppendWellFormed(nil, stripBOM(raw))}, true
	case vNum:
		if math.IsNaN(v.num) {
			return keyDesc{kind: 3}, true
		}
		n := v.num
		if n == 0 {
			n = 0 // -0 is 0
		}
		return keyDesc{kind: 2, num: n}, true
	}
	return keyDesc{}, false
}

func stripBOM(b []byte) []byte {
	if len(b) >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF {
		return b[3:]
	}
	return b
}

// cleanText returns the text TextDecoder would produce when that is a
// plain slice of raw (valid UTF-8, at most a leading BOM dropped).
func cleanText(raw []byte) ([]byte, bool) {
	t := stripBOM(raw)
	return t, jsjson.ValidUTF8(t)
}

// Item kinds in the value model (see cbor_value.go).
const (
	vNull uint8 = iota
	vUndef
	vBool
	vNum  // a JavaScript number
	vBig  // an integer beyond ±(2^53-1): a bigint, not a number
	vText // text string
	vBytes
	vArray
	vMap
)

// itemView is a checked item: its kind, head argument and where its body
// starts.
type itemView struct {
	kind uint8
	arg  uint64  // length or count for text, bytes, arrays and maps
	body int     // offset after the head
	num  float64 // numbers
	b    bool    // booleans
}

// view reads the head at off of an item check accepted (so the head is
// complete and its simple values and floats are ones the reference takes).
func (d *msgDecoder) view(off int) itemView {
	ib := d.data[off]
	major, ai := ib>>5, ib&0x1f
	body := off + 1
	a := uint64(ai)
	if ai >= 24 && ai <= 27 {
		n := 1 << (ai - 24)
		a = 0
		for _, b := range d.data[body : body+n] {
			a = a<<8 | uint64(b)
		}
		body += n
	}
	v := itemView{arg: a, body: body}
	switch major {
	case 0:
		v.kind, v.num = vNum, float64(a)
		if a > maxSafeInteger {
			v.kind = vBig
		}
	case 1:
		v.kind, v.num = vNum, -1-float64(a)
		if a > maxSafeInteger {
			v.kind = vBig
		}
	case 2:
		v.kind = vBytes
	case 3:
		v.kind = vText
	case 4:
		v.kind = vArray
	case 5:
		v.kind = vMap
	default: // 7
		v.arg = 0
		switch ai {
		case 20, 21:
			v.kind, v.b = vBool, ai == 21
		case 22:
			v.kind = vNull
		case 23:
			v.kind = vUndef
		case 25: // float16: only ±Infinity and NaN pass check
			v.kind = vNum
			switch a {
			case 0x7c00:
				v.num = math.Inf(1)
			case 0xfc00:
				v.num = math.Inf(-1)
			default:
				v.num = math.NaN()
			}
		case 26:
			v.kind, v.num = vNum, float64(math.Float32frombits(uint32(a)))
		case 27:
			v.kind, v.num = vNum, math.Float64frombits(a)
		}
	}
	return v
}

// skip returns the offset after the checked item at off.
func (d *msgDecoder) skip(off int) int {
	v := d.view(off)
	switch v.kind {
	case vText, vBytes:
		return v.body + int(v.arg)
	case vArray:
		p := v.body
		for range int(v.arg) {
			p = d.skip(p)
		}
		return p
	case vMap:
		p := v.body
		for range int(2 * v.arg) {
			p = d.skip(p)
		}
		return p
	}
	return v.body
}

// Known keys, as indices into a fields table.
const (
	kT = iota
	kID
	kN
	kY
	kF
	kPV
	kDocs
	kDoc
	kDX
	kV
	kR
	kPK
	kPE
	kD
	kLN
	kA
	kRT
	kMS
	kSH
	kSA
	kSHX
	kSHS
	kS
	numKeys
)

// The duplicate check keeps a bit per known key.
var _ = [32 - numKeys]struct{}{}

var keyNames = [numKeys]string{
	kT: "t", kID: "id", kN: "n", kY: "y", kF: "f", kPV: "pv", kDocs: "docs", kDoc: "doc", kDX: "dx",
	kV: "v", kR: "r", kPK: "pk", kPE: "pe", kD: "d", kLN: "ln", kA: "a", kRT: "rt", kMS: "ms",
	kSH: "sh", kSA: "sa", kSHX: "shx", kSHS: "shs", kS: "s",
}

// knownKey returns the index of the known key k, or -1. Known keys are
// one to four ASCII letters; the one- and two-letter ones, nearly every
// key of a message, are picked without hashing.
func knownKey(k []byte) int {
	switch len(k) {
	case 1:
		return oneLetterKeys[k[0]] - 1
	case 2:
		for i := range twoLetterKeys {
			if twoLetterKeys[i].name[0] == k[0] && twoLetterKeys[i].name[1] == k[1] {
				return twoLetterKeys[i].index
			}
		}
	case 3, 4:
		if i, ok := longKeys[string(k)]; ok {
			return i
		}
	}
	return -1
}

var oneLetterKeys, twoLetterKeys, longKeys = func() (one [256]int, two []struct {
	name  [2]byte
	index int
}, long map[string]int) {
	long = map[string]int{}
	for i, k := range keyNames {
		switch len(k) {
		case 1:
			one[k[0]] = i + 1
		case 2:
			two = append(two, struct {
				name  [2]byte
				index int
			}{[2]byte{k[0], k[1]}, i})
		default:
			long[k] = i
		}
	}
	return one, two, long
}()

// fields locates the known keys of a map: the offset of each value, or 0
// when the key is absent or its value undefined (an offset is never 0
// inside a map).
type fields [numKeys]int32

// fieldsOf fills f for the map v and returns the offset after the map.
func (d *msgDecoder) fieldsOf(v itemView, f *fields) int {
	*f = fields{}
	p := v.body
	for range int(v.arg) {
		kv := d.view(p)
		valAt := d.skip(p)
		if kv.kind == vText {
			raw := d.data[kv.body : kv.body+int(kv.arg)]
			if i := knownKey(stripBOM(raw)); i >= 0 && d.data[valAt] != 0xf7 { // undefined is absent
				f[i] = int32(valAt)
			}
		}
		p = d.skip(valAt)
	}
	return p
}

func (f *fields) get(k int) (int, bool) { return int(f[k]), f[k] != 0 }

// spend charges n bytes of memory to the decode's budget.
func (d *msgDecoder) spend(n int) error {
	d.budget -= n
	if d.budget < 0 {
		return limitError("decoding needs more than %d bytes per input byte", budgetPerByte)
	}
	return nil
}

// str builds the string at off (checked text), as decodeValue would.
func (d *msgDecoder) str(off int) (string, error) {
	v := d.view(off)
	raw := d.data[v.body : v.body+int(v.arg)]
	if s, ok := internedText[string(raw)]; ok {
		return s.(string), nil
	}
	if t, clean := cleanText(raw); clean {
		if err := d.spend(len(t)); err != nil {
			return "", err
		}
		return string(t), nil
	}
	// Repair writes at most 3 bytes per input byte.
	if err := d.spend(3 * len(raw)); err != nil {
		return "", err
	}
	b := jsjson.AppendWellFormed(make([]byte, 0, 3*len(raw)), stripBOM(raw))
	// b is never written again: the string may share it instead of
	// taking a second copy.
	return unsafe.String(unsafe.SliceData(b), len(b)), nil
}

// textBytes builds the bytes of the repaired text at off.
func (d *msgDecoder) textBytes(off int) ([]byte, error) {
	v := d.view(off)
	raw := d.data[v.body : v.body+int(v.arg)]
	if t, clean := cleanText(raw); clean {
		if err := d.spend(len(t)); err != nil {
			return nil, err
		}
		if d.owned {
			return t[:len(t):len(t)], nil
		}
		return append(make([]byte, 0, len(t)), t...), nil
	}
	if err := d.spend(3 * len(raw)); err != nil {
		return nil, err
	}
	return jsjson.AppendWellFormed(make([]byte, 0, 3*len(raw)), stripBOM(raw)), nil
}

func (d *msgDecoder) isText(off int) bool { return d.kind(off) == vText }
func (d *msgDecoder) isBool(off int) bool { return d.kind(off) == vBool }

// kind is view(off).kind, read from the head byte alone where that
// settles it (everything but 8-byte integers and tags).
func (d *msgDecoder) kind(off int) uint8 {
	if k := headKinds[d.data[off]]; k != kindNeedsView {
		return k
	}
	return d.view(off).kind
}

// kindNeedsView marks head bytes whose kind depends on more than the byte.
const kindNeedsView = 0xff

var headKinds = func() (t [256]uint8) {
	for ib := range t {
		major, ai := ib>>5, ib&0x1f
		k := uint8(kindNeedsView)
		switch major {
		case 0, 1:
			if ai < 27 { // at most 32 bits: always a safe integer
				k = vNum
			}
		case 2:
			k = vBytes
		case 3:
			k = vText
		case 4:
			k = vArray
		case 5:
			k = vMap
		case 7:
			switch ai {
			case 20, 21:
				k = vBool
			case 22:
				k = vNull
			case 23:
				k = vUndef
			case 25, 26, 27:
				k = vNum
			}
		}
		t[ib] = k
	}
	return t
}()

func (d *msgDecoder) number(off int) (float64, bool) {
	// Small integers, the usual numbers of a message, have their value
	// in the head byte.
	switch ib := d.data[off]; {
	case ib < 24:
		return float64(ib), true
	case ib >= 0x20 && ib < 0x20+24:
		return -1 - float64(ib-0x20), true
	}
	v := d.view(off)
	return v.num, v.kind == vNum
}

// inSet: a number equal to one of 0..n-1 (see inSet in validation.go).
func (d *msgDecoder) inSet(off, n int) bool {
	f, ok := d.number(off)
	if !ok {
		return false
	}
	for i := range n {
		if f == float64(i) {
			return true
		}
	}
	return false
}

func (d *msgDecoder) optText(f *fields, k int) (*string, error) {
	off, ok := f.get(k)
	if !ok {
		return nil, nil
	}
	s, err := d.str(off)
	if err != nil {
		return nil, err
	}
	return &s, d.spend(16)
}

func (d *msgDecoder) optNumber(f *fields, k int) (*float64, error) {
	off, ok := f.get(k)
	if !ok {
		return nil, nil
	}
	n, _ := d.number(off)
	return &n, d.spend(8)
}

func (d *msgDecoder) optBool(f *fields, k int) *bool {
	off, ok := f.get(k)
	if !ok {
		return nil
	}
	b := d.view(off).b
	return &b
}

// message validates the checked item exactly as validateWireValue does (same
// checks, same order, same reasons and paths), then builds it.
func (d *msgDecoder) message() (wireMessage, error) {
	top := d.view(0)
	if top.kind != vMap {
		return nil, invalid("input must be a non-null object")
	}
	f := &d.top
	toff, ok := f.get(kT)
	t, isNum := d.number(toff)
	if !ok || !isNum || !knownType(t) {
		return nil, invalid("t must be a valid MessageTypeValue", "t")
	}
	switch MsgType(t) {
	case TypeEstablish:
		return d.establish(f)
	case TypeDepart:
		return &wireDepart{}, nil
	case TypePresent:
		return d.present(f)
	case TypeInterest:
		if err := d.validateDocOrDX(f, "interest"); err != nil {
			return nil, err
		}
		if off, ok := f.get(kV); ok && !d.isText(off) {
			return nil, invalid("v must be a string", "v")
		}
		if off, ok := f.get(kR); ok && !d.isBool(off) {
			return nil, invalid("r must be a boolean", "r")
		}
		out := &wireInterest{}
		var err error
		if out.wireDocRef, err = d.docRef(f); err != nil {
			return nil, err
		}
		if out.Version, err = d.optText(f, kV); err != nil {
			return nil, err
		}
		out.Reciprocate = d.optBool(f, kR)
		return out, nil
	case TypeOffer:
		out := new(wireOffer)
		if err := d.offerInto(f, out, nil); err != nil {
			return nil, err
		}
		return out, nil
	case TypeDismiss:
		if err := d.validateDocOrDX(f, "dismiss"); err != nil {
			return nil, err
		}
		ref, err := d.docRef(f)
		if err != nil {
			return nil, err
		}
		return &wireDismiss{ref}, nil
	default: // TypeVacant
		if err := d.validateDocOrDX(f, "vacant"); err != nil {
			return nil, err
		}
		ref, err := d.docRef(f)
		if err != nil {
			return nil, err
		}
		return &wireVacant{ref}, nil
	}
}

func (d *msgDecoder) validateDocOrDX(f *fields, variant string) *ValidationError {
	doc, hasDoc := f.get(kDoc)
	if hasDoc && !d.isText(doc) {
		return invalid("doc must be a string", "doc")
	}
	dx, hasDX := f.get(kDX)
	if hasDX {
		if _, ok := d.number(dx); !ok {
			return invalid("dx must be a number", "dx")
		}
	}
	if hasDoc == hasDX {
		return invalid(variant + ": exactly one of doc or dx must be present")
	}
	return nil
}

func (d *msgDecoder) docRef(f *fields) (wireDocRef, error) {
	var r wireDocRef
	var err error
	if r.Doc, err = d.optText(f, kDoc); err != nil {
		return r, err
	}
	r.DX, err = d.optNumber(f, kDX)
	return r, err
}

func (d *msgDecoder) establish(f *fields) (wireMessage, error) {
	if off, ok := f.get(kID); !ok || !d.isText(off) {
		return nil, invalid("id must be a string", "id")
	}
	if off, ok := f.get(kN); ok && !d.isText(off) {
		return nil, invalid("n must be a string", "n")
	}
	var y string
	if off, ok := f.get(kY); ok {
		if v := d.view(off); v.kind == vText {
			// Invalid UTF-8 never repairs into one of the three names.
			y = string(stripBOM(d.data[v.body : v.body+int(v.arg)]))
		}
	}
	if y != "user" && y != "bot" && y != "service" {
		return nil, invalid(`y must be one of "user", "bot", "service"`, "y")
	}
	var features *fields
	var fs fields
	if off, ok := f.get(kF); ok {
		fv := d.view(off)
		if fv.kind != vMap {
			return nil, invalid("f must be an object", "f")
		}
		features = &fs
		d.fieldsOf(fv, features)
		for _, k := range [...]int{kA, kS, kD} {
			if off, ok := features.get(k); ok && !d.isBool(off) {
				return nil, invalid("f."+keyNames[k]+" must be a boolean", "f", keyNames[k])
			}
		}
	}
	var pv *ProtocolVersion
	if off, ok := f.get(kPV); ok {
		v := d.view(off)
		valid := false
		if v.kind == vArray && v.arg == 2 {
			major, ok1 := d.number(v.body)
			second := d.skip(v.body)
			minor, ok2 := d.number(second)
			if ok1 && ok2 && isSafeInteger(major) && isSafeInteger(minor) && major >= 1 && minor >= 0 {
				valid = true
				pv = &ProtocolVersion{Major: int64(major), Minor: int64(minor)}
			}
		}
		if !valid {
			return nil, invalid("pv must be a [major, minor] integer pair (major>=1, minor>=0)", "pv")
		}
	}
	out := &wireEstablish{PeerType: PeerType(y), ProtocolVersion: pv}
	var err error
	idOff, _ := f.get(kID)
	if out.PeerID, err = d.str(idOff); err != nil {
		return nil, err
	}
	if out.Name, err = d.optText(f, kN); err != nil {
		return nil, err
	}
	if features != nil {
		out.Features = &Features{
			Alias:    d.optBool(features, kA),
			Streamed: d.optBool(features, kS),
			Datagram: d.optBool(features, kD),
		}
	}
	return out, nil
}

// offerInto validates the offer with fields f and builds it into out, its
// document reference into sink when sink is not nil.
func (d *msgDecoder) offerInto(f *fields, out *wireOffer, sink *offerSink) error {
	if err := d.validateDocOrDX(f, "offer"); err != nil {
		return err
	}
	pk, _ := f.get(kPK)
	if !d.inSet(pk, 2) {
		return invalid("pk must be a valid PayloadKindValue", "pk")
	}
	pe, _ := f.get(kPE)
	if !d.inSet(pe, 2) {
		return invalid("pe must be a valid PayloadEncodingValue", "pe")
	}
	doff, ok := f.get(kD)
	dkind := d.kind(doff)
	if !ok || (dkind != vText && dkind != vBytes) {
		return invalid("d must be a string or Uint8Array", "d")
	}
	if off, ok := f.get(kV); !ok || !d.isText(off) {
		return invalid("v must be a string", "v")
	}
	if off, ok := f.get(kR); ok && !d.isBool(off) {
		return invalid("r must be a boolean", "r")
	}
	if off, ok := f.get(kLN); ok && !d.isText(off) {
		return invalid("ln must be a string", "ln")
	}
	pkv, _ := d.number(pk)
	pev, _ := d.number(pe)
	*out = wireOffer{Kind: wirePayloadKind(pkv), Encoding: wirePayloadEncoding(pev)}
	var err error
	if dkind == vText {
		out.DataIsText = true
		if out.Data, err = d.textBytes(doff); err != nil {
			return err
		}
	} else {
		v := d.view(doff)
		if err := d.spend(int(v.arg)); err != nil {
			return err
		}
		raw := d.data[v.body : v.body+int(v.arg) : v.body+int(v.arg)]
		if d.owned {
			out.Data = raw
		} else {
			out.Data = append(rawbuf.Alloc(len(raw)), raw...) // a large one is not cleared first
		}
	}
	voff, _ := f.get(kV)
	if out.Version, err = d.str(voff); err != nil {
		return err
	}
	if sink == nil {
		if out.wireDocRef, err = d.docRef(f); err != nil {
			return err
		}
	} else if off, ok := f.get(kDoc); ok {
		v := d.view(off)
		// Equal bytes decode to the same id unless they start with a
		// byte-order mark, which decoding drops.
		if raw := d.data[v.body : v.body+int(v.arg)]; sink.recentDoc != "" && string(raw) == sink.recentDoc && len(stripBOM(raw)) == len(raw) {
			sink.doc = sink.recentDoc
		} else if sink.doc, err = d.str(off); err != nil {
			return err
		}
		sink.hasDoc = true
		if err := d.spend(16); err != nil {
			return err
		}
	} else if off, ok := f.get(kDX); ok {
		sink.dx, _ = d.number(off)
		sink.hasDX = true
	}
	out.Reciprocate = d.optBool(f, kR)
	if out.Lineage, err = d.optText(f, kLN); err != nil {
		return err
	}
	return nil
}

func (d *msgDecoder) present(f *fields) (wireMessage, error) {
	off, ok := f.get(kDocs)
	docs := d.view(off)
	if !ok || docs.kind != vArray {
		return nil, invalid("docs must be an array", "docs")
	}
	if docs.arg > defaultMaxPresentDocs {
		return nil, limitError("present of %d entries (at most %d)", docs.arg, defaultMaxPresentDocs)
	}
	n := int(docs.arg)
	d.budget += n * entryAllowance
	if err := d.spend(n * int(unsafe.Sizeof(wireDocEntry{}))); err != nil {
		return nil, err
	}
	// One pass: an entry is built right after it passed validation. The
	// first invalid entry fails the whole message, as in the reference,
	// which validates everything before building.
	out := &wirePresent{Docs: make([]wireDocEntry, n)}
	p := docs.body
	var e fields
	for i := range out.Docs {
		ev := d.view(p)
		if ev.kind != vMap {
			return nil, invalid("docs entry must be an object", "docs", i)
		}
		next := d.fieldsOf(ev, &e)
		if err := d.validateEntry(&e, i); err != nil {
			return nil, err
		}
		if err := d.entry(&e, &out.Docs[i]); err != nil {
			return nil, err
		}
		p = next
	}
	return out, nil
}

func (d *msgDecoder) validateEntry(e *fields, i int) *ValidationError {
	if off, ok := e.get(kD); !ok || !d.isText(off) {
		return invalid("d must be a string", "docs", i, "d")
	}
	rtOK := false
	if off, ok := e.get(kRT); ok {
		rt := d.view(off)
		if rt.kind == vArray && rt.arg == 3 {
			p0 := rt.body
			p1 := d.skip(p0)
			p2 := d.skip(p1)
			_, ok1 := d.number(p1)
			_, ok2 := d.number(p2)
			rtOK = d.isText(p0) && ok1 && ok2
		}
	}
	if !rtOK {
		return invalid("rt must be a [string, number, number] tuple", "docs", i, "rt")
	}
	if off, _ := e.get(kMS); !d.inSet(off, 3) {
		return invalid("ms must be a valid SyncModeWireValue", "docs", i, "ms")
	}
	sh, hasSh := e.get(kSH)
	if hasSh && !d.isText(sh) {
		return invalid("sh must be a string", "docs", i, "sh")
	}
	shx, hasShx := e.get(kSHX)
	if hasShx {
		if _, ok := d.number(shx); !ok {
			return invalid("shx must be a number", "docs", i, "shx")
		}
	}
	if off, ok := e.get(kSA); ok {
		if _, ok := d.number(off); !ok {
			return invalid("sa must be a number", "docs", i, "sa")
		}
	}
	if off, ok := e.get(kA); ok {
		if _, ok := d.number(off); !ok {
			return invalid("a must be a number", "docs", i, "a")
		}
	}
	if off, ok := e.get(kSHS); ok {
		arr := d.view(off)
		valid := arr.kind == vArray
		if valid {
			p := arr.body
			for range int(arr.arg) {
				valid = valid && d.isText(p)
				p = d.skip(p)
			}
		}
		if !valid {
			return invalid("shs must be an array of strings", "docs", i, "shs")
		}
	}
	if hasSh == hasShx {
		return invalid("exactly one of sh or shx must be present", "docs", i)
	}
	return nil
}

func (d *msgDecoder) entry(f *fields, e *wireDocEntry) error {
	var err error
	doff, _ := f.get(kD)
	if e.DocID, err = d.str(doff); err != nil {
		return err
	}
	if e.Alias, err = d.optNumber(f, kA); err != nil {
		return err
	}
	rtoff, _ := f.get(kRT)
	rt := d.view(rtoff)
	p1 := d.skip(rt.body)
	name, err := d.str(rt.body)
	if err != nil {
		return err
	}
	major, _ := d.number(p1)
	minor, _ := d.number(d.skip(p1))
	e.ReplicaType = wireReplicaType{Name: name, Major: major, Minor: minor}
	msoff, _ := f.get(kMS)
	ms, _ := d.number(msoff)
	e.SyncMode = wireSyncMode(ms)
	if e.SchemaHash, err = d.optText(f, kSH); err != nil {
		return err
	}
	if e.SchemaAlias, err = d.optNumber(f, kSA); err != nil {
		return err
	}
	if e.SchemaAliasRef, err = d.optNumber(f, kSHX); err != nil {
		return err
	}
	if off, ok := f.get(kSHS); ok {
		arr := d.view(off)
		if err := d.spend(int(arr.arg) * int(unsafe.Sizeof(""))); err != nil {
			return err
		}
		e.SupportedHashes = make([]string, arr.arg)
		p := arr.body
		for i := range e.SupportedHashes {
			if e.SupportedHashes[i], err = d.str(p); err != nil {
				return err
			}
			p = d.skip(p)
		}
	}
	return nil
}
