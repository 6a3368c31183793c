package sqlite

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kyneta-go/kyneta/exchange/internal/storekit"
	"github.com/kyneta-go/kyneta/wire"
)

// File names with URI syntax in them open exactly that file, with every
// setting in effect. Before the DSN was built as an escaped URI, '?'
// started the query early, '#' cut the name and dropped every setting
// (no WAL, no full sync), and '%41' opened "A".
func TestOddPathsOpenThatFileWithSettings(t *testing.T) {
	for _, name := range []string{
		"what?.db",
		"a#b.db",
		"100%41.db",
		"with space.db",
		"all ?#% of it.db",
		"ünï.db",
		"dir ?#%/x.db",
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if d, base := filepath.Split(name); d != "" {
				dir, name = filepath.Join(dir, d), base
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, name)
			s := openAt(t, path, Options{})
			if err := s.Append(ctx, "doc", storekit.MetaRecord("")); err != nil {
				t.Fatal(err)
			}
			if err := s.Append(ctx, "doc", storekit.EntryRecord(wire.Since, "v1")); err != nil {
				t.Fatal(err)
			}
			for pragma, want := range map[string]string{
				"journal_mode": "wal",
				"synchronous":  "2", // FULL
				"locking_mode": "exclusive",
				"foreign_keys": "1",
				"busy_timeout": "5000",
			} {
				var got string
				if err := s.db.QueryRow("PRAGMA " + pragma).Scan(&got); err != nil {
					t.Fatalf("PRAGMA %s: %v", pragma, err)
				}
				if got != want {
					t.Errorf("PRAGMA %s = %q, want %q", pragma, got, want)
				}
			}
			var file string
			if err := s.db.QueryRow("SELECT file FROM pragma_database_list WHERE name = 'main'").Scan(&file); err != nil {
				t.Fatal(err)
			}
			if file != path {
				t.Errorf("SQLite opened %q, want %q", file, path)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			// Only that file (and no sibling named after a cut-off
			// prefix) exists, and it holds the data.
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, e := range entries {
				if !strings.HasPrefix(e.Name(), name+"-") { // -wal, -shm, -journal
					names = append(names, e.Name())
				}
			}
			if !slices.Equal(names, []string{name}) {
				t.Fatalf("directory holds %q, want only %q", names, name)
			}
			s = openAt(t, path, Options{})
			defer s.Close()
			recs, err := s.LoadAll(ctx, "doc")
			if err != nil || len(recs) != 2 {
				t.Fatalf("after reopen: %d records, %v", len(recs), err)
			}
		})
	}
}

// A relative path is the file relative to the working directory, not a
// URI authority.
func TestRelativePath(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.Mkdir("sub dir", 0o755); err != nil {
		t.Fatal(err)
	}
	s := openAt(t, filepath.Join("sub dir", "k#1.db"), Options{})
	defer s.Close()
	if _, err := os.Stat(filepath.Join(dir, "sub dir", "k#1.db")); err == nil {
		return
	}
	t.Fatal("the file is not where the relative path says")
}
