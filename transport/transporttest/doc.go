// Package transporttest provides an in-memory transport for tests of code
// that runs over transports: exchanges, relays and examples.
//
// [Bridge] connects any number of in-process endpoints pairwise with the
// full wire codec in the loop, asynchronous delivery and fault injection
// (drop, delay, duplicate, disconnect, partition and heal) plus an exact
// Settle, so exchange tests run deterministically without sleeping.
//
// It lives apart from package transport, named like the standard library's
// httptest and this module's storetest and machinetest, because it is a test
// harness: its fault knobs and Settle exist for tests, and a program that
// links package transport for a real wire does not need them.
package transporttest
