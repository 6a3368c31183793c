package nested

// A separate module below the checked tree: skipped by Check, though impure.

import "sync"

var _ sync.Mutex
