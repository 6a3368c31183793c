package impure

import . "time"

type ticker struct{ every Duration }

func (t ticker) start() {
	tk := NewTicker(t.every)
	go func() {
		for range tk.C {
		}
	}()
	_ = Tick
}
