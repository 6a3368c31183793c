package machine

// Program is a pure Mealy machine: (state, message) -> (state', effects).
//
// Update must not mutate its input state, perform I/O, read the clock or
// draw randomness; time and randomness enter only inside messages or through
// values injected when the program is constructed. "Nothing happened" is
// expressed by returning the input state unchanged and no effects.
type Program[M, S, F any] interface {
	Init() (S, []F)
	Update(s S, m M) (S, []F)
}

// Doner is implemented by programs that want a teardown hook. The runner
// calls Done exactly once, with the final state, when it is closed.
type Doner[S any] interface {
	Done(s S)
}
