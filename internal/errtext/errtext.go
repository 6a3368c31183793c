// Package errtext writes the module's error messages one way:
// "pkg: code (subject): detail: cause", each part only when present.
package errtext

// Join appends detail and the cause's message to head, each after ": ",
// leaving out what is empty.
func Join(head, detail string, cause error) string {
	if detail != "" {
		head += ": " + detail
	}
	if cause != nil {
		head += ": " + cause.Error()
	}
	return head
}
