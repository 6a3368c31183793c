package client

import (
	"net/http"
	"testing"
)

// The default HTTP client is the Client's own, never the process-wide
// http.DefaultClient, so dropping its idle pool on Stop touches nobody
// else's connections; a user's HTTPClient is used as given and left alone.
func TestDefaultHTTPClientIsOwn(t *testing.T) {
	c, err := New(Options{URL: "ws://127.0.0.1:1/ws"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if !c.opts.ownHTTP || c.opts.HTTPClient == nil || c.opts.HTTPClient == http.DefaultClient ||
		c.opts.HTTPClient.Transport == http.DefaultTransport {
		t.Fatalf("default HTTP client is shared: own=%v client=%p", c.opts.ownHTTP, c.opts.HTTPClient)
	}
	mine := &http.Client{}
	c2, err := New(Options{URL: "ws://127.0.0.1:1/ws", HTTPClient: mine})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if c2.opts.ownHTTP || c2.opts.HTTPClient != mine {
		t.Fatal("a given HTTPClient must be used as is and not owned")
	}
}
