package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path"
	"strings"
	"sync/atomic"

	"github.com/kyneta-go/kyneta/exchange"
	"github.com/kyneta-go/kyneta/server"
)

// A token file holds one token per line, optionally followed by the peer
// ids the token may claim:
//
//	# comment lines and blank lines are skipped
//	s3cret-billing   billing-*        # may claim peer ids matching billing-*
//	s3cret-dash      dash-1 dash-2    # exactly these two
//	s3cret-admin                      # any peer id
//
// Fields are separated by spaces or tabs; a token is any run of
// non-space characters and must be unique in the file. Peer id patterns
// use path.Match syntax (* ? [a-z] \x; '*' does not cross a '/'). A '#'
// at the start of a field starts a comment. The file is re-read on SIGHUP and when its
// content changes.

// tokenEntry is one line of a token file.
type tokenEntry struct {
	secret []byte
	id     string   // fingerprint: names the token in logs and as principal
	peers  []string // patterns; empty: any peer id
}

// tokenSet is the parsed content of a token file.
type tokenSet struct {
	entries []tokenEntry
	byID    map[string]*tokenEntry
}

// tokenID names a token without revealing it: a prefix of its SHA-256.
func tokenID(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return "tok-" + hex.EncodeToString(sum[:6])
}

// parseTokens parses a token file's content; errors name the line, never
// the token.
func parseTokens(name string, b []byte) (*tokenSet, error) {
	set := &tokenSet{byID: make(map[string]*tokenEntry)}
	sc := bufio.NewScanner(bytes.NewReader(b))
	seen := make(map[string]bool)
	for n := 1; sc.Scan(); n++ {
		fields := strings.Fields(sc.Text())
		for i, f := range fields {
			if strings.HasPrefix(f, "#") { // a comment runs to the end of the line
				fields = fields[:i]
				break
			}
		}
		if len(fields) == 0 {
			continue
		}
		tok := fields[0]
		if seen[tok] {
			return nil, fmt.Errorf("token file %s line %d: token repeated from an earlier line", name, n)
		}
		seen[tok] = true
		for _, p := range fields[1:] {
			if _, err := path.Match(p, ""); err != nil {
				return nil, fmt.Errorf("token file %s line %d: bad peer id pattern %q", name, n, p)
			}
		}
		set.entries = append(set.entries, tokenEntry{secret: []byte(tok), id: tokenID(tok), peers: fields[1:]})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("token file %s: %w", name, err)
	}
	if len(set.entries) == 0 {
		return nil, fmt.Errorf("token file %s holds no token", name)
	}
	for i := range set.entries {
		set.byID[set.entries[i].id] = &set.entries[i]
	}
	return set, nil
}

// loadTokens reads and parses a token file.
func loadTokens(file string) (*tokenSet, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("token file: %w", err)
	}
	return parseTokens(file, b)
}

// match returns the entry of a presented token (constant time in the
// token's content; every entry is compared).
func (s *tokenSet) match(got string) *tokenEntry {
	var hit *tokenEntry
	for i := range s.entries {
		if subtle.ConstantTimeCompare([]byte(got), s.entries[i].secret) == 1 {
			hit = &s.entries[i]
		}
	}
	return hit
}

// mayClaim reports whether the token may take peerID.
func (e *tokenEntry) mayClaim(peerID string) bool {
	if len(e.peers) == 0 {
		return true
	}
	for _, p := range e.peers {
		if ok, _ := path.Match(p, peerID); ok {
			return true
		}
	}
	return false
}

// tokenPrincipal is what an authenticated connection carries: which token
// it presented, by fingerprint (stable across reloads, never the secret).
type tokenPrincipal struct{ ID string }

// String is the key the server counts the token's connections under
// (MaxConnectionsPerPrincipal).
func (p tokenPrincipal) String() string { return p.ID }

// tokens is a reloadable token file.
type tokens struct {
	file string
	log  *slog.Logger
	cur  atomic.Pointer[tokenSet]
}

func openTokens(file string, log *slog.Logger) (*tokens, error) {
	s, err := loadTokens(file)
	if err != nil {
		return nil, err
	}
	t := &tokens{file: file, log: log}
	t.cur.Store(s)
	return t, nil
}

// reload re-reads the file. On error the current tokens stay in force.
// It returns the ids of tokens that are gone.
func (t *tokens) reload() (count int, revoked []string, err error) {
	s, err := loadTokens(t.file)
	if err != nil {
		return 0, nil, err
	}
	old := t.cur.Swap(s)
	for _, e := range old.entries {
		if s.byID[e.id] == nil {
			revoked = append(revoked, e.id)
		}
	}
	return len(s.entries), revoked, nil
}

// presented returns the token a request carries: "Authorization: Bearer
// T" (any case of "Bearer"), or for browsers, which cannot set headers on
// a WebSocket or an EventSource, the "token" query parameter.
func presented(r *http.Request) string {
	if got, ok := server.BearerToken(r); ok {
		return got
	}
	return r.URL.Query().Get("token")
}

// authenticate is the server's Authenticate. Refusals are 401 with an RFC
// 6750 challenge.
func (t *tokens) authenticate(r *http.Request) (server.Principal, error) {
	got := presented(r)
	if got == "" {
		return nil, &server.AuthError{Status: http.StatusUnauthorized, Challenge: `Bearer realm="kyneta"`,
			Err: errors.New("missing bearer token")}
	}
	if e := t.cur.Load().match(got); e != nil {
		return tokenPrincipal{ID: e.id}, nil
	}
	return nil, &server.AuthError{Status: http.StatusUnauthorized, Challenge: `Bearer realm="kyneta", error="invalid_token"`,
		Err: errors.New("unknown bearer token")}
}

// canConnect admits a peer only with a token that is still in the file
// and may claim the peer id the peer announced in establish.
func (t *tokens) canConnect(req exchange.ConnectRequest) exchange.Verdict {
	p, ok := req.Principal.(tokenPrincipal)
	if !ok {
		return exchange.Deny // every server connection passed the token check
	}
	e := t.cur.Load().byID[p.ID]
	switch {
	case e == nil:
		t.log.Info("peer refused: token revoked", "peer", req.Identity.PeerID, "token", p.ID)
		return exchange.Deny
	case !e.mayClaim(req.Identity.PeerID):
		t.log.Info("peer refused: token may not claim this peer id", "peer", req.Identity.PeerID, "token", p.ID)
		return exchange.Deny
	}
	return exchange.Allow
}

// guard wraps h so that it requires one of the tokens.
func (t *tokens) guard(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := t.authenticate(r); err != nil {
			var ae *server.AuthError
			if errors.As(err, &ae) {
				w.Header().Set("WWW-Authenticate", ae.Challenge)
			}
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}
