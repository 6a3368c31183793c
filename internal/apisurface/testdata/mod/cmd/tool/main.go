// Command tool is a main package: not counted.
package main

// Exported is not API in a main package.
func Exported() {}

func main() {}
