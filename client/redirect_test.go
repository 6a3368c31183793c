package client

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/coder/websocket"
	"github.com/kyneta-go/kyneta"
)

// A redirect is refused: the credentials in the upgrade request never
// reach the other location, and the failure says why without echoing any
// token.
func TestRedirectIsNotFollowed(t *testing.T) {
	var reached atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached.Add(1) }))
	defer other.Close()
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/ws?token=leaked-location", http.StatusFound)
	}))
	defer redirector.Close()

	var logs lockedBuf
	h := newHarness(t, func(o *Options) {
		o.URL = "ws" + strings.TrimPrefix(redirector.URL, "http") + "/ws?token=query-secret"
		o.Header = http.Header{"Authorization": {"Bearer header-secret"}}
		o.Reconnect = testPolicy(0)
		o.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	h.start()
	r := recv(t, h.hook.disconnects, "disconnect")
	if r.HTTPStatus != http.StatusFound || !errors.Is(r.Err, &kyneta.Error{Pkg: "client", Reason: reasonRedirect, Code: kyneta.CodeUnsupported}) {
		t.Fatalf("reason %+v (%v), want HTTP 302 and redirect-refused", r, r)
	}
	if n := reached.Load(); n != 0 {
		t.Fatalf("the redirect target got %d request(s)", n)
	}
	for _, text := range []string{r.Error(), logs.String()} {
		for _, secret := range []string{"leaked-location", "query-secret", "header-secret"} {
			if strings.Contains(text, secret) {
				t.Errorf("%q appears in %q", secret, text)
			}
		}
	}
	if !strings.Contains(r.Error(), "redirect-refused") {
		t.Errorf("reason %q does not say the redirect was refused", r.Error())
	}
}

// A dial error from net/http names the URL; its query string and password
// are redacted.
func TestDialErrorRedactsURL(t *testing.T) {
	ln := httptest.NewServer(http.NotFoundHandler())
	addr := strings.TrimPrefix(ln.URL, "http://")
	ln.Close() // nothing listens there any more
	var logs lockedBuf
	h := newHarness(t, func(o *Options) {
		o.URL = "ws://user:pass-secret@" + addr + "/ws?token=query-secret#frag-secret"
		o.Reconnect = testPolicy(0)
		o.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	h.start()
	r := recv(t, h.hook.disconnects, "disconnect")
	if r.Err == nil || !strings.Contains(r.Error(), addr) {
		t.Fatalf("reason %v does not name the address", r)
	}
	for _, text := range []string{r.Error(), logs.String()} {
		for _, secret := range []string{"pass-secret", "query-secret", "frag-secret"} {
			if strings.Contains(text, secret) {
				t.Errorf("%q appears in %q", secret, text)
			}
		}
	}
	if _, err := New(Options{URL: "ftp://h/ws?token=query-secret"}); err == nil || strings.Contains(err.Error(), "query-secret") {
		t.Errorf("bad scheme error %v", err)
	}
}

// A caller's own CheckRedirect is its decision; without one the dial gets
// a copy that refuses. Either way the dial uses a copy (its transport puts
// the cork under the connection) and the caller's client is left
// unchanged.
func TestDialClientRedirectPolicy(t *testing.T) {
	mine := &http.Client{}
	c := dialClient(mine)
	if c == mine || c.CheckRedirect == nil || mine.CheckRedirect != nil || mine.Transport != nil {
		t.Fatal("a client without CheckRedirect must be copied with one that refuses")
	}
	if err := c.CheckRedirect(nil, nil); !errors.Is(err, http.ErrUseLastResponse) {
		t.Fatalf("the dial's CheckRedirect = %v, want ErrUseLastResponse", err)
	}
	followed := 0
	follow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { followed++; return nil }}
	c = dialClient(follow)
	if err := c.CheckRedirect(nil, nil); err != nil || followed != 1 || follow.Transport != nil {
		t.Fatal("a client with its own CheckRedirect must keep it, and be left unchanged")
	}
}

// CompressionMode offers permessage-deflate in the upgrade request.
func TestCompressionOffered(t *testing.T) {
	for _, tc := range []struct {
		mode websocket.CompressionMode
		want bool
	}{{websocket.CompressionDisabled, false}, {websocket.CompressionContextTakeover, true}, {websocket.CompressionNoContextTakeover, true}} {
		got := make(chan string, 1)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got <- r.Header.Get("Sec-WebSocket-Extensions")
			http.Error(w, "no", http.StatusBadRequest)
		}))
		h := newHarness(t, func(o *Options) {
			o.URL = srv.URL + "/ws"
			o.CompressionMode = tc.mode
			o.Reconnect = testPolicy(0)
		})
		h.start()
		ext := recv(t, got, "upgrade request")
		recv(t, h.hook.disconnects, "disconnect")
		srv.Close()
		if strings.Contains(ext, "permessage-deflate") != tc.want {
			t.Errorf("mode %v: Sec-WebSocket-Extensions %q", tc.mode, ext)
		}
	}
}

type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
