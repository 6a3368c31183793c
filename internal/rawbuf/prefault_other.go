//go:build !linux

package rawbuf

// prefault does nothing where the system has no way to map pages ahead of
// their first write.
func prefault([]byte) {}
