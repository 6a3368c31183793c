package changes_test

import (
	"encoding/json"
	"fmt"

	"github.com/kyneta-go/kyneta/exchange/internal/changes"
)

func ExampleTextInsert() {
	// Insert "hi" at position 3 of a text, as the reference's writers do.
	b, _ := json.Marshal(changes.TextInsert(3, "hi"))
	fmt.Println(string(b))
	// Output: {"type":"text","instructions":[{"retain":3},{"insert":"hi"}]}
}
