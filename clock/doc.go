// Package clock is the time source every kyneta shell takes by injection.
//
// Shells never call time.Now or time.AfterFunc directly; they take a
// [Clock]. Production code uses [Real]; tests use [Fake], whose time moves
// only when the test calls [Fake.Advance], so timer behaviour (backoff,
// keepalive, reassembly timeouts, drain windows) is exact and no test sleeps.
package clock
