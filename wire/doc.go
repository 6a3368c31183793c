// Package wire is a byte-exact implementation of the Kyneta wire protocol
// (binary wire v3, text wire v2).
package wire
