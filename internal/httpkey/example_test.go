package httpkey_test

import (
	"fmt"
	"net/http/httptest"

	"github.com/kyneta-go/kyneta/internal/httpkey"
)

type user struct{ id int }

func (u user) String() string { return fmt.Sprint("user-", u.id) }

func Example() {
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "[2001:db8::1]:4711"
	fmt.Println(httpkey.ClientHost(r))
	fmt.Printf("%q %q %q\n", httpkey.Principal("alice"), httpkey.Principal(user{7}), httpkey.Principal(42))
	// Output:
	// 2001:db8::1
	// "alice" "user-7" ""
}
