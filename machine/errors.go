package machine

import (
	"cmp"
	"fmt"
	"runtime"
	"slices"
	"strings"

	"github.com/kyneta-go/kyneta"
)

// The reasons of this package's errors.
const (
	// reasonClosed: the runner was closed ([ErrClosed]).
	reasonClosed = "closed"
	// reasonBudgetExhausted: a drain exceeded the iteration budget
	// (*[BudgetExhaustedError]), almost always a feedback loop.
	reasonBudgetExhausted = "budget-exhausted"
	// reasonPanic: user code run by a runner panicked (*[PanicError]).
	reasonPanic = "panic"
)

// codeOf maps the package's reasons to their codes: a closed runner is
// unavailable; a feedback loop and a panic are bugs.
func codeOf(reason string) kyneta.Code {
	switch reason {
	case reasonClosed:
		return kyneta.CodeUnavailable
	}
	return kyneta.CodeInternal
}

func newError(reason, detail string, cause error) *kyneta.Error {
	return &kyneta.Error{Code: codeOf(reason), Reason: reason, Pkg: "machine", Detail: detail, Err: cause}
}

// ErrClosed is returned by [Runner.WaitFor] when the runner is closed before
// the awaited state is reached. Its code is kyneta.CodeUnavailable, its
// reason "closed".
var ErrClosed = newError(reasonClosed, "runner closed", nil)

// BudgetExhaustedError reports a drain that processed more messages than the
// runner's budget allows, which almost always means a feedback loop (an effect
// or listener that keeps dispatching messages whose effects dispatch again).
//
// The fields are a snapshot taken when the budget ran out; the text returned
// by Error is only built when it is asked for.
type BudgetExhaustedError struct {
	Label      string // Options.Label of the runner
	Budget     int    // the configured budget
	Iterations int    // messages taken from the queue in this drain, Budget+1
	// History holds the most recent messages of the drain, oldest first; the
	// last one is the message that exceeded the budget (it was not processed).
	History []any

	origin []uintptr // call stack of the goroutine that started the drain
}

// Unwrap returns the error's classification: reason "budget-exhausted",
// kyneta.CodeInternal.
func (e *BudgetExhaustedError) Unwrap() error {
	return newError(reasonBudgetExhausted, fmt.Sprintf("[runner:%s] %d > %d", e.Label, e.Iterations, e.Budget), nil)
}

func (e *BudgetExhaustedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "machine: [runner:%s] iteration budget exhausted (%d > %d)", e.Label, e.Iterations, e.Budget)
	if s := formatOrigin(e.origin); s != "" {
		b.WriteString("\n  cascade entered from:\n")
		b.WriteString(s)
	}
	if s := formatHistogram(e.History, 5); s != "" {
		b.WriteString("\n  top message types:\n")
		b.WriteString(s)
	}
	if len(e.History) > 0 {
		fmt.Fprintf(&b, "\n  recent (%d): %s", len(e.History), formatRecent(e.Label, e.History))
	}
	return b.String()
}

// typeName names a message for diagnostics. Messages are usually small
// structs behind a sealed interface, so the dynamic type says what happened.
func typeName(m any) string {
	if m == nil {
		return "<nil>"
	}
	return fmt.Sprintf("%T", m)
}

// formatOrigin renders call frames one per line, indented, skipping this
// package's own frames and the runtime so the first line is user code.
func formatOrigin(pcs []uintptr) string {
	if len(pcs) == 0 {
		return ""
	}
	var b strings.Builder
	frames := runtime.CallersFrames(pcs)
	for {
		f, more := frames.Next()
		if f.Function != "" && !strings.HasPrefix(f.Function, "runtime.") && !isRunnerFrame(f.Function) {
			if b.Len() > 0 {
				b.WriteByte('\n')
			}
			fmt.Fprintf(&b, "    %s (%s:%d)", f.Function, f.File, f.Line)
		}
		if !more {
			break
		}
	}
	return b.String()
}

const pkgPath = "github.com/kyneta-go/kyneta/machine."

func isRunnerFrame(fn string) bool {
	rest, ok := strings.CutPrefix(fn, pkgPath)
	// Only the runner's own methods; tests in this package (machine.Test...)
	// and the external test package (machine_test.) stay visible.
	return ok && strings.HasPrefix(rest, "(*Runner[")
}

// formatHistogram counts message types and renders the top n rows, most
// frequent first, with aligned columns and a share of the total.
func formatHistogram(msgs []any, n int) string {
	if len(msgs) == 0 || n <= 0 {
		return ""
	}
	counts := map[string]int{}
	for _, m := range msgs {
		counts[typeName(m)]++
	}
	type row struct {
		key string
		n   int
	}
	rows := make([]row, 0, len(counts))
	for k, c := range counts {
		rows = append(rows, row{k, c})
	}
	slices.SortFunc(rows, func(a, b row) int {
		if c := cmp.Compare(b.n, a.n); c != 0 {
			return c
		}
		return strings.Compare(a.key, b.key)
	})
	if len(rows) > n {
		rows = rows[:n]
	}
	width := 0
	for _, r := range rows {
		width = max(width, len(r.key))
	}
	var b strings.Builder
	for i, r := range rows {
		if i > 0 {
			b.WriteByte('\n')
		}
		pct := 100 * float64(r.n) / float64(len(msgs))
		fmt.Fprintf(&b, "    %-*s  %7d  (%5.1f%%)", width, r.key, r.n, pct)
	}
	return b.String()
}

// formatRecent joins the history as label:type, oldest first.
func formatRecent(label string, msgs []any) string {
	parts := make([]string, len(msgs))
	for i, m := range msgs {
		parts[i] = label + ":" + typeName(m)
	}
	return strings.Join(parts, ", ")
}

// PanicError reports a panic recovered from user code run by a [Runner]: the
// program's Init, Update or Done, a transition listener, the executor, or an
// OnError hook. The runner keeps going after reporting it.
type PanicError struct {
	Label string // Options.Label of the runner
	Op    string // "init", "update", "listener", "executor", "done" or "on-error"
	Value any    // the value passed to panic
	Stack []byte // stack of the panicking goroutine, captured at recovery
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("machine: [runner:%s] %s panicked: %v", e.Label, e.Op, e.Value)
}

// Unwrap returns the error's classification (reason "panic",
// kyneta.CodeInternal), which wraps the panic value when it is an error, so
// errors.Is/As see through a panic(err).
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return newError(reasonPanic, fmt.Sprintf("[runner:%s] %s panicked", e.Label, e.Op), err)
}
