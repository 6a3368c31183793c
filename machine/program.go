package machine

// Program is a pure Mealy machine: (state, message) -> (state', effects).
//
// Update must not mutate its input state, perform I/O, read the clock or
// draw randomness; time and randomness enter only inside messages or through
// values injected when the program is constructed. "Nothing happened" is
// expressed by returning the input state unchanged and no effects.
//
// A program that wants a teardown hook also has a method Done(s S): the
// runner calls it exactly once, with the final state, when it is closed.
type Program[M, S, F any] interface {
	Init() (S, []F)
	Update(s S, m M) (S, []F)
}

// doner is a program with a teardown hook (see [Program]).
type doner[S any] interface {
	Done(s S)
}
