// Package machinetest property-tests [machine.Program] implementations with
// pgregory.net/rapid.
//
// [Check] (or [Run]) starts a program from Init, feeds it a random sequence
// of messages drawn from a generator, and after every Update checks the
// user's invariants and that the program stayed pure: the input state and the
// message must be unchanged after the call, and, optionally, the same inputs
// must give the same outputs.
//
// # How mutation is detected
//
// Before each Update the input state is deep-copied (Config.Clone, by
// default [DeepCopy], which follows pointers, maps, slices, interfaces and
// unexported fields); after the call the original is compared with the copy
// (Config.Equal, by default [DeepEqual]). Because states are passed by value,
// only memory shared through references can change, and that is exactly what
// the deep copy detaches. A program that writes to a map or slice it was
// given, or through a pointer in the state, is caught on the first step that
// does so. Supply Clone and Equal for states DeepCopy cannot handle well
// (for example states holding channels whose contents matter).
package machinetest
