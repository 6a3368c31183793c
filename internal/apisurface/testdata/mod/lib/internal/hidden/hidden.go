// Package hidden is an internal fixture package.
package hidden

// H is exported inside an internal package.
func H() {}
