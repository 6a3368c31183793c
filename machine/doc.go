// Package machine is the Mealy-machine algebra every kyneta lifecycle is built on.
//
// A [Program] is a pure transition function: given a state and a message it
// returns the next state and a list of effects, which are plain data. A
// [Runner] is the thin imperative shell around a program: it serialises
// messages from any goroutine, stores the state, notifies transition
// listeners and hands each effect to an executor supplied by the caller.
package machine
