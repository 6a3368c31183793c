package kyneta_test

import (
	"errors"
	"fmt"

	"github.com/kyneta-go/kyneta"
)

func Example() {
	// What a package returns (here built by hand): the code for callers'
	// decisions, the reason for the exact condition.
	err := fmt.Errorf("connect: %w", &kyneta.Error{
		Code:   kyneta.CodeResourceExhausted,
		Reason: "per-ip",
		Pkg:    "server",
		Detail: "3 connections from 192.0.2.1",
	})

	switch kyneta.CodeOf(err) {
	case kyneta.CodeResourceExhausted, kyneta.CodeUnavailable:
		fmt.Println("retry later:", kyneta.ReasonOf(err))
	case kyneta.CodeUnauthenticated:
		fmt.Println("log in again")
	}
	fmt.Println(errors.Is(err, &kyneta.Error{Pkg: "server", Reason: "per-ip"}))
	fmt.Println(err)
	// Output:
	// retry later: per-ip
	// true
	// connect: server: per-ip: 3 connections from 192.0.2.1
}
