package machine_test

import (
	"fmt"
	"strings"
	"sync"

	"github.com/kyneta-go/kyneta/machine"
)

// The runner's own test program: a counter whose messages can also ask for
// effects, panic, or change nothing.

type cstate struct{ N int }

type cmsg interface{ isCmsg() }

type (
	inc  struct{}              // N+1
	add  struct{ N int }       // N+n
	noop struct{}              // unchanged state, no effects
	say  struct{ Fx []string } // unchanged state, emits Fx
	bump struct{ Fx []string } // N+1 and emits Fx
	boom struct{}              // Update panics
)

func (inc) isCmsg()  {}
func (add) isCmsg()  {}
func (noop) isCmsg() {}
func (say) isCmsg()  {}
func (bump) isCmsg() {}
func (boom) isCmsg() {}

type counter struct {
	initFx []string
	log    *recorder // optional: records "update:<msg>" and "done:<N>"
}

func (p counter) Init() (cstate, []string) { return cstate{}, p.initFx }

func (p counter) Update(s cstate, m cmsg) (cstate, []string) {
	p.log.add(fmt.Sprintf("update:%T", m))
	switch m := m.(type) {
	case inc:
		return cstate{s.N + 1}, nil
	case add:
		return cstate{s.N + m.N}, nil
	case say:
		return s, m.Fx
	case bump:
		return cstate{s.N + 1}, m.Fx
	case boom:
		panic("boom")
	}
	return s, nil
}

func (p counter) Done(s cstate) { p.log.add(fmt.Sprintf("done:%d", s.N)) }

// recorder is a goroutine-safe event log; a nil *recorder ignores events.
type recorder struct {
	mu     sync.Mutex
	events []string
}

func (r *recorder) add(e string) {
	if r == nil {
		return
	}
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}

func (r *recorder) get() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.events...)
}

func (r *recorder) String() string { return strings.Join(r.get(), " ") }

// errs collects errors reported through Options.OnError.
type errs struct {
	mu   sync.Mutex
	list []error
}

func (e *errs) add(err error) {
	e.mu.Lock()
	e.list = append(e.list, err)
	e.mu.Unlock()
}

func (e *errs) get() []error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]error(nil), e.list...)
}

var _ machine.Program[cmsg, cstate, string] = counter{}

// counter has the teardown hook the runner looks for.
var _ interface{ Done(cstate) } = counter{}
