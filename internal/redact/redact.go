// Package redact removes what may be a secret from text that goes into
// errors and logs. The WebSocket client and the kyneta command show URLs
// only through it.
package redact

import "net/url"

// URL returns s without what may be a secret: the password of its user
// info and its query string and fragment (browsers pass tokens as
// ?token=) are replaced by "REDACTED" (the password by "xxxxx"). A string
// that does not parse is replaced whole.
func URL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "REDACTED"
	}
	if u.RawQuery != "" {
		u.RawQuery = "REDACTED"
	}
	if u.Fragment != "" {
		u.Fragment, u.RawFragment = "REDACTED", ""
	}
	return u.Redacted() // the user info's password, as xxxxx
}
