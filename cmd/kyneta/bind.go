package main

import (
	"fmt"
	"net"
	"net/netip"
)

// Exposure says who can reach serve, as its startup log reports it.
const (
	exposeAuthenticated = "authenticated" // a token file: any address, every peer authenticates
	exposeLoopback      = "loopback-only" // no token file: only this machine can connect
	exposeInsecure      = "insecure"      // no token file, reachable from the network (--insecure)
)

// isLoopback reports whether a listen host only accepts connections from
// this machine. Host names other than localhost count as not loopback:
// what they resolve to can change.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// secureAddr decides where serve listens. With a token file, anywhere.
// Without one, it is secure by default: an address with no host (":8080")
// becomes loopback only, and any other non-loopback address is refused
// unless insecure is set.
func secureAddr(addr string, auth, insecure bool) (listen, exposure string, defaulted bool, err error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", "", false, &usageError{fmt.Sprintf("serve: bad --addr %q: %v", addr, err)}
	}
	switch {
	case auth:
		return addr, exposeAuthenticated, false, nil
	case isLoopback(host):
		return addr, exposeLoopback, false, nil
	case insecure:
		return addr, exposeInsecure, false, nil
	case host == "":
		return net.JoinHostPort("127.0.0.1", port), exposeLoopback, true, nil
	}
	return "", "", false, &usageError{fmt.Sprintf("serve: refusing to serve %s without authentication: give --token-file, "+
		"or --insecure to let anyone who can reach it read and write every document", addr)}
}
