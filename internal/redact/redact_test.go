package redact

import "testing"

func TestURL(t *testing.T) {
	for in, want := range map[string]string{
		"ws://h/ws":                       "ws://h/ws",
		"ws://h/ws?token=t":               "ws://h/ws?REDACTED",
		"wss://u:p@h:1/ws?peerId=a&t=b#x": "wss://u:xxxxx@h:1/ws?REDACTED#REDACTED",
		"/relative?token=t":               "/relative?REDACTED",
		"::not a url":                     "REDACTED",
	} {
		if got := URL(in); got != want {
			t.Errorf("URL(%q) = %q, want %q", in, got, want)
		}
	}
}
