// Package lib is a fixture for the surface count.
package lib

// The constants: three exported, one not.
const (
	A = 1
	B = 2
	C = 3
	d = 4
)

// V is exported, v is not.
var (
	V = 1
	v = 2
)

// T has an exported and an unexported field (secret).
type T struct {
	Exported int
	secret   int
}

// New is a constructor: a top-level function.
func New() *T { return &T{secret: 1} }

// Get is a method.
func (t *T) Get() int { return t.secret }

// unexported doc must not appear.
func (t *T) get() int { return t.secret }

// I is an interface with one exported method.
type I interface {
	M()
	m()
}

// F is a function.
func F() {}

type hiddenType struct{ Field int }

func (hiddenType) Method() {}
