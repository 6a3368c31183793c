package rawbuf_test

import (
	"fmt"

	"github.com/kyneta-go/kyneta/internal/rawbuf"
)

// A buffer for a message whose size is known before its bytes arrive.
func ExampleAlloc() {
	buf := rawbuf.Alloc(64 << 10)
	buf = append(buf, "first fragment, "...)
	buf = append(buf, "second fragment"...)
	fmt.Println(string(buf), cap(buf))
	// Output: first fragment, second fragment 65536
}
