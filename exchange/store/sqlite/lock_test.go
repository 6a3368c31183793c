package sqlite

import (
	"bufio"
	"bytes"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kyneta-go/kyneta"
	"github.com/kyneta-go/kyneta/exchange/internal/storeerr"
	"github.com/kyneta-go/kyneta/exchange/internal/storekit"
)

// childEnv names the role a re-executed test binary plays.
const childEnv = "KYNETA_SQLITE_TEST_CHILD"

// Exit codes of a child.
const (
	exitOK     = 0
	exitFailed = 1
	exitLocked = 3
)

// childRoles are what a second process can do; each gets the arguments
// after the binary name and returns its exit code.
var childRoles = map[string]func(args []string) int{
	// open PATH: Open the store and close it again.
	"open": func(args []string) int {
		s, err := Open(ctx, args[0], Options{BusyTimeoutMillis: 50})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			if errors.Is(err, &kyneta.Error{Pkg: "store", Reason: storeerr.Locked}) {
				return exitLocked
			}
			return exitFailed
		}
		if err := s.Close(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return exitFailed
		}
		return exitOK
	},
	// raw-read PATH: read the records table with the plain driver, as any
	// other SQLite client would.
	"raw-read": func(args []string) int {
		db, err := sql.Open("sqlite", "file:"+args[0]+"?_pragma=busy_timeout(50)")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return exitFailed
		}
		defer db.Close()
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM kyneta_records`).Scan(&n); err != nil {
			fmt.Fprintln(os.Stderr, err)
			if h := (&handle{path: args[0]}).openError(err); errors.Is(h, &kyneta.Error{Pkg: "store", Reason: storeerr.Locked}) {
				return exitLocked
			}
			return exitFailed
		}
		fmt.Println(n)
		return exitOK
	},
	// hold PATH: open the store, say "held", and keep it until stdin
	// closes (or the process is killed).
	"hold": func(args []string) int {
		s, err := Open(ctx, args[0], Options{})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return exitFailed
		}
		fmt.Println("held")
		_, _ = io.Copy(io.Discard, os.Stdin)
		_ = s.Close()
		return exitOK
	},
}

func runChild(role string, args []string) int {
	f, ok := childRoles[role]
	if !ok {
		fmt.Fprintf(os.Stderr, "unknown %s role %q\n", childEnv, role)
		return 2
	}
	return f(args)
}

// child returns a command running this test binary in role.
func child(t *testing.T, role string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), childEnv+"="+role)
	return cmd
}

// runRole runs a child to completion and returns its exit code and
// stderr.
func runRole(t *testing.T, role string, args ...string) (int, string) {
	t.Helper()
	cmd := child(t, role, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, stderr.String()
	case errors.As(err, &ee):
		return ee.ExitCode(), stderr.String()
	}
	t.Fatalf("run child %s: %v", role, err)
	return 0, ""
}

// Two processes on one database file would both acknowledge writes and
// keep different contents under the same version. The second one must
// refuse to open, with one clear line.
func TestSecondProcessIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kyneta.db")
	s := openAt(t, path, Options{})
	if err := s.Append(ctx, "doc", storekit.MetaRecord("")); err != nil {
		t.Fatal(err)
	}

	code, stderr := runRole(t, "open", path)
	if code != exitLocked {
		t.Fatalf("second process: exit %d, stderr %q; want the locked exit", code, stderr)
	}
	line := strings.TrimSuffix(stderr, "\n")
	if strings.Contains(line, "\n") || !strings.Contains(line, "store: locked") || !strings.Contains(line, path) {
		t.Fatalf("second process said %q; want one line naming the lock and the file", stderr)
	}
	// The lock is SQLite's own: a plain SQLite client is kept out too.
	if code, stderr := runRole(t, "raw-read", path); code != exitLocked {
		t.Fatalf("plain SQLite reader: exit %d, stderr %q; want it locked out", code, stderr)
	}
	// So is a second store in this process.
	if s2, err := Open(ctx, path, Options{BusyTimeoutMillis: 10}); !errors.Is(err, &kyneta.Error{Pkg: "store", Reason: storeerr.Locked}) {
		if s2 != nil {
			s2.Close()
		}
		t.Fatalf("second Open in process = %v, want ErrLocked", err)
	}

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if code, stderr := runRole(t, "open", path); code != exitOK {
		t.Fatalf("after close: exit %d, stderr %q", code, stderr)
	}
	if code, stderr := runRole(t, "raw-read", path); code != exitOK {
		t.Fatalf("plain reader after close: exit %d, stderr %q", code, stderr)
	}
}

// A process killed while it holds the file leaves no stale lock behind.
func TestLockDiesWithProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kyneta.db")
	cmd := child(t, "hold", path)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "held\n" {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("holder said %q, %v; stderr %s", line, err, stderr.String())
	}
	if _, err := Open(ctx, path, Options{BusyTimeoutMillis: 10}); !errors.Is(err, &kyneta.Error{Pkg: "store", Reason: storeerr.Locked}) {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("Open while held = %v, want ErrLocked", err)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	s := openAt(t, path, Options{BusyTimeoutMillis: 10})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// Several table namespaces share one file through Namespace; the same
// namespace twice is refused, and the file stays locked until the last
// store on it closes.
func TestNamespaceSharesTheLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kyneta.db")
	a := openAt(t, path, Options{})
	b, err := a.Namespace(ctx, Options{Tables: Tables{DocMeta: "b_meta", Records: "b_records", StoreMeta: "b_store"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Namespace(ctx, Options{}); !errors.Is(err, &kyneta.Error{Pkg: "store", Reason: storeerr.Locked}) {
		t.Fatalf("Namespace on a's tables = %v, want ErrLocked", err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Append(ctx, "doc", storekit.MetaRecord("")); err != nil {
		t.Fatalf("b after a closed: %v", err)
	}
	if code, stderr := runRole(t, "open", path); code != exitLocked {
		t.Fatalf("second process while b is open: exit %d, %q", code, stderr)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if code, stderr := runRole(t, "open", path); code != exitOK {
		t.Fatalf("second process after both closed: exit %d, %q", code, stderr)
	}
}
