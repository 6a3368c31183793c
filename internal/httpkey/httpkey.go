// Package httpkey names what a request counts against for the servers'
// per-address and per-principal connection caps, the same way for the
// WebSocket and SSE servers.
package httpkey

import (
	"fmt"
	"net"
	"net/http"
)

// ClientHost is the host of r.RemoteAddr (all of it if it has no port).
func ClientHost(r *http.Request) string {
	if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return h
	}
	return r.RemoteAddr
}

// Principal is a string principal itself, a fmt.Stringer's String(), and
// "" (not counted) for anything else.
func Principal(p any) string {
	switch p := p.(type) {
	case string:
		return p
	case fmt.Stringer:
		return p.String()
	}
	return ""
}
