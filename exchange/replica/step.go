package replica

// stepper applies one decoded change to the value at a path.
type stepper interface {
	// step returns the next value given the current one (present=false
	// when the path holds nothing).
	step(cur any, present bool) (next any, nextPresent bool)
}

func decodeChange(typ string, obj *Object) (stepper, error) {
	return nil, &Error{Code: CodeUnknownChange, Msg: "change type " + typ}
}
