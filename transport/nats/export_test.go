package nats

import "testing"

// Test helpers for the black-box tests of package nats_test.

// Proxy is the cuttable TCP relay to NATS.
type Proxy = proxy

// NewProxy starts a relay to the test NATS, closed when t ends.
func NewProxy(t testing.TB) *Proxy { return newProxy(t) }

// NewPrefix returns a subject prefix of its own.
func NewPrefix() string { return testPrefix() }

// URL returns the test NATS URL.
func URL() string { return natsURL }
