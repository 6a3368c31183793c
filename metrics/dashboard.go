package metrics

import (
	"bytes"
	_ "embed"
	"html/template"
	"net/http"
)

//go:embed ui/index.html
var dashboardHTML string

var dashboardTmpl = template.Must(template.New("ui").Parse(dashboardHTML))

// Dashboard serves a self-contained page that draws the stats feed at
// statsURL (a path on the same origin, e.g. "/stats") as live charts:
// connections, peers, documents, messages and bytes per second, store
// health and recent close codes. The page passes its own query string on
// to the feed, so a token given as /ui?token=T reaches a protected feed.
// It loads nothing from elsewhere.
func Dashboard(statsURL string) http.Handler {
	var buf bytes.Buffer
	if err := dashboardTmpl.Execute(&buf, struct{ Stats string }{statsURL}); err != nil {
		panic("metrics: dashboard template: " + err.Error()) // the template is ours and fixed
	}
	page := buf.Bytes()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer") // the URL may carry a token
		h.Set("Content-Security-Policy", "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'")
		_, _ = w.Write(page)
	})
}
