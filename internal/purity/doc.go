// Package purity enforces the pure-core rules on program files.
//
// Every lifecycle in kyneta is a pure Mealy machine kept in a file named
// program.go or *_program.go. Such a file must not do I/O, read the clock,
// draw randomness or start goroutines; time and randomness enter as values.
// [Check] parses those files with go/parser and reports:
//
//   - imports of net, os, sync, io, log, math/rand or crypto/rand, or of any
//     of their subpackages (net/http, sync/atomic, log/slog, math/rand/v2, …);
//   - any use (call or function value) of time.Now, Since, Until, After,
//     AfterFunc, Sleep, Tick, NewTicker or NewTimer, also through a renamed
//     or dot import of package time; time.Duration and friends are fine;
//   - go statements.
//
// The check is syntactic: it sees what a file names, not what the functions
// it calls do, so a program could still reach I/O through another package.
// Reviews cover that; this test catches the common slips cheaply. The
// module-wide run lives in this package's tests, so `go test ./...` enforces
// the rules.
package purity
