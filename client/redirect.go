package client

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/kyneta-go/kyneta/internal/redact"
)

// A dial the server answered with a redirect fails with the reason
// "redirect-refused". The client never follows one: the upgrade request
// carries credentials (Options.Header, HeaderFunc) that must not travel to
// another location, and a WebSocket endpoint has no reason to move. The
// attempt fails with the 3xx status in DisconnectReason.HTTPStatus and is
// retried like any failed dial.

// refuseRedirect is the CheckRedirect of every dial whose HTTP client does
// not set its own: the 3xx response itself ends the request.
func refuseRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// dialClient returns the HTTP client a dial uses: a shallow copy of hc
// (the pool and transport are shared, so the copy costs nothing) that
// refuses redirects unless hc decides on them, and whose transport puts
// the socket's cork under the upgraded connection (corkTransport).
func dialClient(hc *http.Client) *http.Client {
	cp := *hc
	if cp.CheckRedirect == nil {
		cp.CheckRedirect = refuseRedirect
	}
	cp.Transport = corkTransport{rt: hc.Transport}
	return &cp
}

// redactErr scrubs the URL net/http puts into its errors (a *url.Error
// anywhere in the chain). The wrappers above it formatted their text when
// they were made, so the text is rewritten too; errors.Is and As still
// reach every error in the chain.
func redactErr(err error) error {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return err
	}
	raw := ue.URL
	red := redact.URL(raw)
	if raw == red {
		return err
	}
	ue.URL = red
	msg := strings.ReplaceAll(err.Error(), strconv.Quote(raw), strconv.Quote(red))
	return &redactedError{msg: strings.ReplaceAll(msg, raw, red), err: err}
}

// redactedError is an error whose text had a URL redacted.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }
