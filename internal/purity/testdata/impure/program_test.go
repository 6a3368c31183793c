package impure

// Tests of programs may use anything; _test.go files are not checked.

import (
	"sync"
	"time"
)

var _ = time.Now
var _ sync.Mutex
