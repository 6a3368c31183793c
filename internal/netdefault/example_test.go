package netdefault_test

import (
	"fmt"

	"github.com/kyneta-go/kyneta/internal/netdefault"
)

func Example() {
	fmt.Println(netdefault.FragmentThreshold, netdefault.MaxConnectionsPerIP)
	// Output: 102400 1000
}
