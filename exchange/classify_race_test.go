package exchange

import (
	"sync"
	"testing"

	"github.com/kyneta-go/kyneta/exchange/store"
)

// A Get made while the doc a peer announced is being classified wins: the
// classification must not replace the runtime Get handed out, or writes
// through that handle reach no peer (a line's outbox went silent this way
// when its peer's present arrived just before the line opened it).
func TestGetDuringClassificationKeepsItsHandle(t *testing.T) {
	for _, stored := range []bool{false, true} {
		name := "memory"
		if stored {
			name = "stored"
		}
		t.Run(name, func(t *testing.T) {
			n := newTestNet(t)
			entered, release := make(chan struct{}), make(chan struct{})
			var once sync.Once
			a := n.peer("a", func(o *Options) {
				if stored {
					o.Stores = []store.Store{store.NewMemory(store.MemoryOptions{})}
				}
				o.Policies = []Policy{{Name: "slow", Resolve: func(ResolveRequest) Resolution {
					once.Do(func() { close(entered) })
					<-release
					return Interpret(jsonDoc)
				}}}
			})
			b := n.peer("b")
			db := mustGet(t, b, "d", jsonDoc)
			update(t, db, func(tx *Tx) { tx.Set(P("v"), 1) })
			<-entered // a is classifying d
			da := mustGet(t, a, "d", jsonDoc)
			close(release)
			n.settle()
			if again := mustGet(t, a, "d", jsonDoc); again != da {
				t.Fatal("the classification replaced the handle Get returned")
			}
			wantJSON(t, da, `{"v":1}`)
			update(t, da, func(tx *Tx) { tx.Set(P("w"), 2) })
			n.settle()
			wantJSON(t, db, `{"v":1,"w":2}`)
		})
	}
}
