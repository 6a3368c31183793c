package lib

// Exported identifiers in tests are not API.
func TestOnly() {}
