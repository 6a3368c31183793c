package ignored

// Inside a nested testdata directory: skipped by Check, though impure.

import "os"

var _ = os.Args
