//go:build race && unix

package main

// raceEnabled builds the binary under test with -race too, so it shares the
// test's build cache and its children are checked for races as well.
const raceEnabled = true
