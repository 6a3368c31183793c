// Package errdoc reads the reason tables of docs/errors.md, so that each
// package's tests can check that the documentation lists exactly the
// reasons the package returns, each with the code it really has.
package errdoc

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/kyneta-go/kyneta"
)

// Table returns the reasons docs/errors.md lists under the heading
// "### `pkg`", with their codes: the rows of that section's tables whose
// first two cells are `reason` and `code`. docs is the path of
// docs/errors.md ("" finds it above the working directory).
func Table(docs, pkg string) (map[string]kyneta.Code, error) {
	if docs == "" {
		var err error
		if docs, err = find(); err != nil {
			return nil, err
		}
	}
	f, err := os.Open(docs)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]kyneta.Code{}
	in, found := false, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			in = strings.TrimSpace(line) == "### `"+pkg+"`"
			found = found || in
			continue
		}
		if !in || !strings.HasPrefix(line, "|") {
			continue
		}
		cells := strings.Split(line, "|")
		if len(cells) < 4 {
			continue
		}
		reason, ok1 := quoted(cells[1])
		code, ok2 := firstQuoted(cells[2])
		if !ok1 || !ok2 {
			continue // the header, the rule, or a row of another shape
		}
		if prev, dup := out[reason]; dup && prev != kyneta.Code(code) {
			return nil, fmt.Errorf("%s: reason %q of %s is listed with codes %q and %q", docs, reason, pkg, prev, code)
		}
		out[reason] = kyneta.Code(code)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("%s has no section \"### `%s`\"", docs, pkg)
	}
	return out, nil
}

// Diff compares what a package maps (reason -> code) with what the docs
// list, and describes every difference, one per line ("" when none).
func Diff(code, docs map[string]kyneta.Code) string {
	var b strings.Builder
	for r, c := range code {
		d, ok := docs[r]
		switch {
		case !ok:
			fmt.Fprintf(&b, "reason %q (%s) is not in docs/errors.md\n", r, c)
		case d != c:
			fmt.Fprintf(&b, "reason %q has code %q, docs/errors.md says %q\n", r, c, d)
		}
	}
	for r := range docs {
		if _, ok := code[r]; !ok {
			fmt.Fprintf(&b, "docs/errors.md lists reason %q, which the package does not return\n", r)
		}
	}
	return b.String()
}

func quoted(cell string) (string, bool) {
	cell = strings.TrimSpace(cell)
	if len(cell) < 3 || cell[0] != '`' || cell[len(cell)-1] != '`' || strings.Count(cell, "`") != 2 {
		return "", false
	}
	return cell[1 : len(cell)-1], true
}

// firstQuoted returns the first `word` of a cell: a code cell may add a
// note ("`unauthenticated` (`permission-denied` for 403)").
func firstQuoted(cell string) (string, bool) {
	i := strings.IndexByte(cell, '`')
	if i < 0 {
		return "", false
	}
	j := strings.IndexByte(cell[i+1:], '`')
	if j <= 0 {
		return "", false
	}
	return cell[i+1 : i+1+j], true
}

func find() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "docs", "errors.md"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory")
		}
		dir = parent
	}
}
