package main

import (
	"context"
	"crypto/sha256"
	"log/slog"
	"os"
	"time"

	"github.com/kyneta-go/kyneta/clock"
)

// reloadable is a set of files that are loaded together (a token file; a
// certificate and its key).
type reloadable struct {
	what  string   // for the log: "tokens", "certificate"
	paths []string // the files whose content is watched
	load  func(trigger string) error
	seen  [sha256.Size]byte // content hash at the last load attempt
}

// digest hashes the files' contents; a file that cannot be read hashes as
// its error, so it differs from any content.
func digest(paths []string) [sha256.Size]byte {
	h := sha256.New()
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			b = []byte("\x00error:" + err.Error())
		}
		h.Write(b)
		h.Write([]byte{0})
	}
	var out [sha256.Size]byte
	h.Sum(out[:0])
	return out
}

// reloader re-reads files on a signal and when their content changes.
// Content, not modification time, decides: a file replaced within the
// same second, or restored from a backup with an old time, is still seen.
type reloader struct {
	log   *slog.Logger
	clk   clock.Clock
	items []*reloadable
}

func (r *reloader) add(what string, load func(trigger string) error, paths ...string) {
	r.items = append(r.items, &reloadable{what: what, paths: paths, load: load, seen: digest(paths)})
}

// check reloads every item whose files changed, or all of them when
// force. A failed load keeps what is in force and is retried when the
// files change again.
func (r *reloader) check(force bool, trigger string) {
	for _, it := range r.items {
		d := digest(it.paths)
		if !force && d == it.seen {
			continue
		}
		it.seen = d
		if err := it.load(trigger); err != nil {
			r.log.Error("reload failed; keeping the previous "+it.what, "trigger", trigger, "err", err)
		}
	}
}

// run checks every interval (0: never) and on every signal on hup, until
// ctx ends.
func (r *reloader) run(ctx context.Context, interval time.Duration, hup <-chan os.Signal) {
	if len(r.items) == 0 {
		return
	}
	tick := make(chan struct{}, 1)
	stop := func() bool { return false }
	arm := func() {
		if interval > 0 {
			stop = r.clk.AfterFunc(interval, func() {
				select {
				case tick <- struct{}{}:
				default:
				}
			})
		}
	}
	arm()
	defer func() { stop() }()
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			r.check(true, "signal")
		case <-tick:
			r.check(false, "file-change")
			arm()
		}
	}
}
