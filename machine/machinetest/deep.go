package machinetest

import (
	"math"
	"reflect"
	"unsafe"
)

// DeepCopy returns a copy of v that shares no mutable memory with it:
// pointers, maps and slices are copied recursively, including through
// unexported struct fields and interfaces, and pointer cycles are preserved.
// Map keys, funcs, channels and unsafe pointers are shared, since a program
// cannot change them in place (keys) or their identity is what matters.
//
// Reflection cannot write unexported fields, so DeepCopy uses package unsafe
// to reach them. That is safe here because the destination is always memory
// DeepCopy itself allocated and the field types are preserved exactly.
func DeepCopy[T any](v T) T {
	src := reflect.ValueOf(&v).Elem()
	dst := reflect.New(src.Type()).Elem()
	c := copier{seen: map[seenKey]reflect.Value{}}
	c.copy(dst, src)
	return dst.Interface().(T)
}

type seenKey struct {
	ptr uintptr
	len int
	typ reflect.Type
}

type copier struct {
	seen map[seenKey]reflect.Value // original pointer/map/slice -> its copy
}

// open makes an addressable value usable for reading and writing even when it
// was reached through an unexported field.
func open(v reflect.Value) reflect.Value {
	if v.CanAddr() && !v.CanSet() {
		return reflect.NewAt(v.Type(), unsafe.Pointer(v.UnsafeAddr())).Elem()
	}
	return v
}

// addressable returns an addressable copy of v (values from maps and
// interfaces are not addressable, so their unexported fields are unreachable).
func addressable(v reflect.Value) reflect.Value {
	if v.CanAddr() {
		return v
	}
	a := reflect.New(v.Type()).Elem()
	a.Set(v)
	return a
}

// copy writes a deep copy of src into dst; dst is settable, src addressable
// or obtained without passing an unexported field.
func (c *copier) copy(dst, src reflect.Value) {
	dst, src = open(dst), open(src)
	switch src.Kind() {
	case reflect.Pointer:
		if src.IsNil() {
			return
		}
		k := seenKey{ptr: src.Pointer(), typ: src.Type()}
		if p, ok := c.seen[k]; ok {
			dst.Set(p)
			return
		}
		p := reflect.New(src.Type().Elem())
		c.seen[k] = p
		c.copy(p.Elem(), src.Elem())
		dst.Set(p)
	case reflect.Interface:
		if src.IsNil() {
			return
		}
		inner := addressable(src.Elem())
		cp := reflect.New(inner.Type()).Elem()
		c.copy(cp, inner)
		dst.Set(cp)
	case reflect.Struct:
		for i := range src.NumField() {
			c.copy(dst.Field(i), src.Field(i))
		}
	case reflect.Array:
		for i := range src.Len() {
			c.copy(dst.Index(i), src.Index(i))
		}
	case reflect.Slice:
		if src.IsNil() {
			return
		}
		k := seenKey{ptr: src.Pointer(), len: src.Len(), typ: src.Type()}
		if s, ok := c.seen[k]; ok {
			dst.Set(s)
			return
		}
		s := reflect.MakeSlice(src.Type(), src.Len(), src.Cap())
		c.seen[k] = s
		for i := range src.Len() {
			c.copy(s.Index(i), src.Index(i))
		}
		dst.Set(s)
	case reflect.Map:
		if src.IsNil() {
			return
		}
		k := seenKey{ptr: src.Pointer(), typ: src.Type()}
		if m, ok := c.seen[k]; ok {
			dst.Set(m)
			return
		}
		m := reflect.MakeMapWithSize(src.Type(), src.Len())
		c.seen[k] = m
		it := src.MapRange()
		for it.Next() {
			v := reflect.New(src.Type().Elem()).Elem()
			c.copy(v, addressable(it.Value()))
			m.SetMapIndex(it.Key(), v)
		}
		dst.Set(m)
	default:
		// Scalars, strings, funcs, channels, unsafe pointers.
		dst.Set(src)
	}
}

// DeepEqual reports whether a and b are deeply equal. It follows
// reflect.DeepEqual with three changes that suit comparing a state with its
// DeepCopy: func values are equal when both are nil or point to the same
// code, NaN equals NaN, and channels and unsafe pointers compare by identity.
// A copy shares its funcs with the original, so the func rule is exact for
// that use; for unrelated values it is approximate (two closures of one
// literal compare equal whatever they capture).
func DeepEqual(a, b any) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	if va.Type() != vb.Type() {
		return false
	}
	return (&comparer{seen: map[visit]bool{}}).equal(va, vb)
}

type visit struct {
	a, b uintptr
	typ  reflect.Type
}

type comparer struct {
	seen map[visit]bool
}

// cycle reports whether the pair is already being compared further up; it
// then counts as equal, like reflect.DeepEqual.
func (c *comparer) cycle(a, b reflect.Value) bool {
	v := visit{a.Pointer(), b.Pointer(), a.Type()}
	if c.seen[v] {
		return true
	}
	c.seen[v] = true
	return false
}

func (c *comparer) equal(a, b reflect.Value) bool {
	if !a.IsValid() || !b.IsValid() {
		return a.IsValid() == b.IsValid()
	}
	if a.Type() != b.Type() {
		return false
	}
	switch a.Kind() {
	case reflect.Pointer:
		if a.Pointer() == b.Pointer() {
			return true
		}
		if a.IsNil() || b.IsNil() {
			return false
		}
		return c.cycle(a, b) || c.equal(a.Elem(), b.Elem())
	case reflect.Interface:
		if a.IsNil() || b.IsNil() {
			return a.IsNil() == b.IsNil()
		}
		return c.equal(a.Elem(), b.Elem())
	case reflect.Struct:
		for i := range a.NumField() {
			if !c.equal(a.Field(i), b.Field(i)) {
				return false
			}
		}
		return true
	case reflect.Array:
		for i := range a.Len() {
			if !c.equal(a.Index(i), b.Index(i)) {
				return false
			}
		}
		return true
	case reflect.Slice:
		if a.IsNil() != b.IsNil() || a.Len() != b.Len() {
			return false
		}
		if a.Pointer() == b.Pointer() {
			return true
		}
		if c.cycle(a, b) {
			return true
		}
		for i := range a.Len() {
			if !c.equal(a.Index(i), b.Index(i)) {
				return false
			}
		}
		return true
	case reflect.Map:
		if a.IsNil() != b.IsNil() || a.Len() != b.Len() {
			return false
		}
		if a.Pointer() == b.Pointer() {
			return true
		}
		if c.cycle(a, b) {
			return true
		}
		it := a.MapRange()
		for it.Next() {
			bv := b.MapIndex(it.Key())
			if !bv.IsValid() || !c.equal(it.Value(), bv) {
				return false
			}
		}
		return true
	case reflect.Func:
		if a.IsNil() || b.IsNil() {
			return a.IsNil() == b.IsNil()
		}
		return a.Pointer() == b.Pointer()
	case reflect.Chan, reflect.UnsafePointer:
		return a.Pointer() == b.Pointer()
	case reflect.Float32, reflect.Float64:
		x, y := a.Float(), b.Float()
		return x == y || math.IsNaN(x) && math.IsNaN(y)
	case reflect.Complex64, reflect.Complex128:
		x, y := a.Complex(), b.Complex()
		return x == y || isNaNComplex(x) && isNaNComplex(y)
	case reflect.Bool:
		return a.Bool() == b.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return a.Int() == b.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return a.Uint() == b.Uint()
	case reflect.String:
		return a.String() == b.String()
	}
	return false
}

func isNaNComplex(x complex128) bool { return math.IsNaN(real(x)) || math.IsNaN(imag(x)) }
