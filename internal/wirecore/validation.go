package wirecore

import (
	"strconv"
	"strings"
)

// ValidationError reports a well-formed value that is not a valid wire
// message (the reference's WireValidationFailure). Reason is the
// reference's reason text; Path locates the offending field, with string
// keys and int array indices (nil when the failure concerns the whole
// message or a doc/dx pair). It unwraps to its *kyneta.Error
// classification, reason "invalid-message".
type ValidationError struct {
	Reason string
	Path   []any
}

// Unwrap returns the error's classification: reason "invalid-message",
// with the reference's reason text as its detail.
func (e *ValidationError) Unwrap() error { return newError(reasonInvalidMessage, e.Reason, nil) }

func (e *ValidationError) Error() string {
	if len(e.Path) == 0 {
		return "wire: invalid message: " + e.Reason
	}
	var sb strings.Builder
	for i, p := range e.Path {
		switch p := p.(type) {
		case int:
			sb.WriteString("[" + strconv.Itoa(p) + "]")
		case string:
			if i > 0 {
				sb.WriteByte('.')
			}
			sb.WriteString(p)
		}
	}
	return "wire: invalid message: " + e.Reason + " (at " + sb.String() + ")"
}

func invalid(reason string, path ...any) *ValidationError {
	if len(path) == 0 {
		path = nil
	}
	return &ValidationError{Reason: reason, Path: path}
}

// validateWireValue applies the reference's message validation to a decoded
// value, check for check and in the same order, so that the first failure
// (and its reason) is the one the reference reports. Unknown fields are
// ignored; absent and undefined fields are the same.
func validateWireValue(v any) *ValidationError {
	m, ok := v.(orderedMap)
	if !ok {
		return invalid("input must be a non-null object")
	}
	tv, _ := field(m, "t")
	t, ok := numberOf(tv)
	if !ok || !knownType(t) {
		return invalid("t must be a valid MessageTypeValue", "t")
	}
	switch MsgType(t) {
	case TypeEstablish:
		return validateEstablish(m)
	case TypeDepart:
		return nil
	case TypePresent:
		return validatePresent(m)
	case TypeInterest:
		if err := validateDocOrDX(m, "interest"); err != nil {
			return err
		}
		if v, ok := field(m, "v"); ok && !isString(v) {
			return invalid("v must be a string", "v")
		}
		if v, ok := field(m, "r"); ok && !isBool(v) {
			return invalid("r must be a boolean", "r")
		}
		return nil
	case TypeOffer:
		return validateOffer(m)
	case TypeDismiss:
		return validateDocOrDX(m, "dismiss")
	default: // TypeVacant
		return validateDocOrDX(m, "vacant")
	}
}

func knownType(t float64) bool {
	switch t {
	case 1, 2, 16, 17, 18, 19, 20:
		return true
	}
	return false
}

func isString(v any) bool { _, ok := v.(string); return ok }
func isBool(v any) bool   { _, ok := v.(bool); return ok }
func isNumber(v any) bool { _, ok := numberOf(v); return ok }

// inSet reports whether v is a number equal to one of the small integers
// 0..n-1 (the reference tests membership in a Set, where -0 equals 0).
func inSet(v any, n int) bool {
	f, ok := numberOf(v)
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

func validateEstablish(m orderedMap) *ValidationError {
	if v, _ := field(m, "id"); !isString(v) {
		return invalid("id must be a string", "id")
	}
	if v, ok := field(m, "n"); ok && !isString(v) {
		return invalid("n must be a string", "n")
	}
	y, _ := field(m, "y")
	if s, ok := y.(string); !ok || (s != "user" && s != "bot" && s != "service") {
		return invalid(`y must be one of "user", "bot", "service"`, "y")
	}
	if fv, ok := field(m, "f"); ok {
		f, ok := fv.(orderedMap)
		if !ok {
			return invalid("f must be an object", "f")
		}
		for _, k := range [...]string{"a", "s", "d"} {
			if v, ok := field(f, k); ok && !isBool(v) {
				return invalid("f."+k+" must be a boolean", "f", k)
			}
		}
	}
	if pv, ok := field(m, "pv"); ok {
		arr, ok := pv.([]any)
		if ok && len(arr) == 2 {
			major, ok1 := safeInt(arr[0])
			minor, ok2 := safeInt(arr[1])
			if ok1 && ok2 && major >= 1 && minor >= 0 {
				return nil
			}
		}
		return invalid("pv must be a [major, minor] integer pair (major>=1, minor>=0)", "pv")
	}
	return nil
}

func validatePresent(m orderedMap) *ValidationError {
	dv, _ := field(m, "docs")
	docs, ok := dv.([]any)
	if !ok {
		return invalid("docs must be an array", "docs")
	}
	for i, ev := range docs {
		e, ok := ev.(orderedMap)
		if !ok {
			return invalid("docs entry must be an object", "docs", i)
		}
		if v, _ := field(e, "d"); !isString(v) {
			return invalid("d must be a string", "docs", i, "d")
		}
		rtv, _ := field(e, "rt")
		if rt, ok := rtv.([]any); !ok || len(rt) != 3 || !isString(rt[0]) || !isNumber(rt[1]) || !isNumber(rt[2]) {
			return invalid("rt must be a [string, number, number] tuple", "docs", i, "rt")
		}
		if v, _ := field(e, "ms"); !inSet(v, 3) {
			return invalid("ms must be a valid SyncModeWireValue", "docs", i, "ms")
		}
		sh, hasSh := field(e, "sh")
		if hasSh && !isString(sh) {
			return invalid("sh must be a string", "docs", i, "sh")
		}
		shx, hasShx := field(e, "shx")
		if hasShx && !isNumber(shx) {
			return invalid("shx must be a number", "docs", i, "shx")
		}
		if v, ok := field(e, "sa"); ok && !isNumber(v) {
			return invalid("sa must be a number", "docs", i, "sa")
		}
		if v, ok := field(e, "a"); ok && !isNumber(v) {
			return invalid("a must be a number", "docs", i, "a")
		}
		if v, ok := field(e, "shs"); ok {
			arr, ok := v.([]any)
			for _, h := range arr {
				ok = ok && isString(h)
			}
			if !ok {
				return invalid("shs must be an array of strings", "docs", i, "shs")
			}
		}
		if hasSh == hasShx {
			return invalid("exactly one of sh or shx must be present", "docs", i)
		}
	}
	return nil
}

func validateDocOrDX(m orderedMap, variant string) *ValidationError {
	doc, hasDoc := field(m, "doc")
	if hasDoc && !isString(doc) {
		return invalid("doc must be a string", "doc")
	}
	dx, hasDX := field(m, "dx")
	if hasDX && !isNumber(dx) {
		return invalid("dx must be a number", "dx")
	}
	if hasDoc == hasDX {
		return invalid(variant + ": exactly one of doc or dx must be present")
	}
	return nil
}

func validateOffer(m orderedMap) *ValidationError {
	if err := validateDocOrDX(m, "offer"); err != nil {
		return err
	}
	if v, _ := field(m, "pk"); !inSet(v, 2) {
		return invalid("pk must be a valid PayloadKindValue", "pk")
	}
	if v, _ := field(m, "pe"); !inSet(v, 2) {
		return invalid("pe must be a valid PayloadEncodingValue", "pe")
	}
	switch d, _ := field(m, "d"); d.(type) {
	case string, []byte:
	default:
		return invalid("d must be a string or Uint8Array", "d")
	}
	if v, _ := field(m, "v"); !isString(v) {
		return invalid("v must be a string", "v")
	}
	if v, ok := field(m, "r"); ok && !isBool(v) {
		return invalid("r must be a boolean", "r")
	}
	if v, ok := field(m, "ln"); ok && !isString(v) {
		return invalid("ln must be a string", "ln")
	}
	return nil
}
