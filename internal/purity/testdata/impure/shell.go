package impure

// Not a program file: shells may do I/O, so nothing here is reported.

import (
	"os"
	"sync"
	"time"
)

var mu sync.Mutex

func run() {
	go os.Exit(int(time.Now().Unix() % 2))
}
