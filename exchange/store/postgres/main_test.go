package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/goleak"
)

// EnvDSN names the environment variable with the PostgreSQL the tests use.
const envDSN = "KYNETA_TEST_POSTGRES"

// Candidates tried in order when the variable is unset: the machine's
// PostgreSQL trusts both users.
var defaultDSNs = []string{
	"postgres://postgres@127.0.0.1:5432/test?sslmode=disable",
	"postgres://root@127.0.0.1:5432/test?sslmode=disable",
}

// testDSN is the reachable DSN, set by TestMain.
var testDSN string

// admin is a pool the tests use to create and drop their schemas.
var admin *pgxpool.Pool

func TestMain(m *testing.M) {
	dsn, err := reachableDSN()
	if err != nil {
		// One clear line: the suite needs a real PostgreSQL and never skips.
		fmt.Fprintf(os.Stderr, "postgres store tests: no PostgreSQL reachable (%v); set %s\n", err, envDSN)
		os.Exit(1)
	}
	testDSN = dsn
	// Examples (package postgres_test) read the variable.
	_ = os.Setenv(envDSN, dsn)
	admin, err = pgxpool.New(context.Background(), dsn)
	if err != nil {
		fmt.Fprintf(os.Stderr, "postgres store tests: %v\n", err)
		os.Exit(1)
	}
	code := m.Run()
	admin.Close()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

func reachableDSN() (string, error) {
	candidates := defaultDSNs
	if v := os.Getenv(envDSN); v != "" {
		candidates = []string{v}
	}
	var last error
	for _, dsn := range candidates {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		conn, err := pgx.Connect(ctx, dsn)
		if err == nil {
			err = conn.Ping(ctx)
			_ = conn.Close(ctx)
		}
		cancel()
		if err == nil {
			return dsn, nil
		}
		last = fmt.Errorf("%s: %w", redact(dsn), err)
	}
	return "", last
}

func redact(dsn string) string {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return "unparsable dsn"
	}
	return fmt.Sprintf("%s@%s:%d/%s", cfg.User, cfg.Host, cfg.Port, cfg.Database)
}

// newSchema creates a PostgreSQL schema private to the test and drops it
// (with everything in it) when the test ends, so parallel runs never share
// tables.
func newSchema(t testing.TB) string {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "kyneta_test_" + hex.EncodeToString(b[:])
	ctx := context.Background()
	if _, err := admin.Exec(ctx, `CREATE SCHEMA `+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec(context.Background(), `DROP SCHEMA `+pgx.Identifier{name}.Sanitize()+` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", name, err)
		}
	})
	return name
}
