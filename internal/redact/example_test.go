package redact_test

import (
	"fmt"

	"github.com/kyneta-go/kyneta/internal/redact"
)

func ExampleURL() {
	fmt.Println(redact.URL("wss://alice:secret@relay.example/ws?token=abc"))
	// Output: wss://alice:xxxxx@relay.example/ws?REDACTED
}
