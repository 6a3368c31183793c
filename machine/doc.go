// Package machine is the Mealy-machine algebra every kyneta lifecycle is built on.
//
// A [Program] is a pure transition function: given a state and a message it
// returns the next state and a list of effects, which are plain data. A
// [Runner] is the thin imperative shell around a program: it serialises
// messages from any goroutine, stores the state, notifies transition
// listeners and hands each effect to an executor function supplied by the caller.
//
// # Runner rules
//
//   - Serialised FIFO dispatch. [Runner.Dispatch] may be called from any
//     goroutine. Messages go into one queue; the goroutine that finds the
//     runner idle drains it until it is empty, everyone else only enqueues
//     and returns. So Dispatch can return before its message is processed,
//     but once every Dispatch call has returned, every message has been.
//   - Per message: Update, store the new state, notify transition listeners,
//     then run the effects in order. A dispatch made by an effect or a
//     listener is queued behind the current message, never processed inline,
//     so feedback never recurses and the stack stays flat.
//   - No lock is held while user code (Update, listeners, the executor, Done,
//     OnError) runs; user code may call back into the runner.
//   - A message whose Update returns a state equal (==) to its input emits no
//     transition. Programs therefore return the input state unchanged when
//     nothing happened, and a new value when something did.
//   - Panics in user code are recovered, reported as a *[PanicError] (to
//     Options.Logger and Options.OnError) and never wedge the runner: a
//     panicking Update drops its message and leaves the state alone; a
//     panicking listener or effect is skipped and the rest still run. The
//     runner's callers are often socket readers and timers, where a panic
//     would take the process down. A panic in Init, inside [NewRunner],
//     propagates.
//   - Budget. One drain may process at most Options.Budget messages (default
//     100,000). Beyond that the runner assumes a runaway feedback
//     loop: it drops the queue, reports a *[BudgetExhaustedError] carrying
//     the recent messages and where the drain was entered, and carries on
//     with a fresh budget. The count covers every message a drain handles,
//     including those other goroutines queued meanwhile, so a runner kept
//     saturated by many producers for that many messages in a row is treated
//     the same way; such runners should raise or disable the budget.
//   - [Runner.Close] is idempotent: it discards the queue, makes later
//     Dispatch calls no-ops, wakes [Runner.WaitFor] with [ErrClosed] and
//     calls the program's Done method, if it has one (see [Program]), once
//     with the final state. A message already in progress completes first;
//     [Runner.Stopped] tells when it has.
//
// Because "no change" is detected with ==, S must be comparable. Keep states
// small immutable values; a map or slice belongs behind a pointer that a
// change replaces (never mutates), so == sees the change.
//
// Package [github.com/kyneta-go/kyneta/machine/machinetest] property-tests
// programs: invariants after every step, no mutation of the input state.
package machine
