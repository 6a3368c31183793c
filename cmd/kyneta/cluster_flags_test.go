package main

import (
	"errors"
	"strings"
	"testing"
)

func parseServeEnv(args []string, env map[string]string) (serveConfig, error) {
	var c serveConfig
	fs := serveFlags(&c)
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	return c, resolveCluster(fs, &c.cluster, &c.peerID, func(k string) string { return env[k] })
}

func TestClusterFlagsAndEnv(t *testing.T) {
	pg, nats := "postgres://u@db:5432/k", "nats://q:4222"
	// Flags.
	c, err := parseServeEnv([]string{"--store", pg, "--cluster", nats, "--node-id", "a1"}, nil)
	if err != nil || c.cluster.store != pg || c.cluster.nats != nats || c.cluster.nodeID != "a1" || c.peerID != "a1" || c.cluster.prefix != "kyneta" {
		t.Fatalf("flags: %+v %v", c, err)
	}
	// The same from the environment.
	env := map[string]string{"KYNETA_STORE": pg, "KYNETA_CLUSTER": nats, "KYNETA_NODE_ID": "b2", "KYNETA_CLUSTER_PREFIX": "prod"}
	c, err = parseServeEnv(nil, env)
	if err != nil || c.cluster.store != pg || c.cluster.nats != nats || c.peerID != "b2" || c.cluster.prefix != "prod" {
		t.Fatalf("env: %+v %v", c, err)
	}
	// A flag wins over its variable.
	c, err = parseServeEnv([]string{"--node-id", "c3"}, env)
	if err != nil || c.peerID != "c3" || c.cluster.nodeID != "c3" {
		t.Fatalf("flag over env: %+v %v", c, err)
	}
	// A single node on PostgreSQL needs neither NATS nor a node id.
	if c, err = parseServeEnv([]string{"--store", pg}, nil); err != nil || c.peerID != "kyneta-relay" {
		t.Fatalf("store only: %+v %v", c, err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--cluster", nats, "--node-id", "a"}, "needs --store"},
		{[]string{"--cluster", nats, "--store", pg}, "needs --node-id"},
		{[]string{"--cluster", nats, "--store", pg, "--node-id", "a", "--peer-id", "b"}, "differs"},
		{[]string{"--store", "mysql://x:secret@h/db"}, "want a postgres:// URL"},
	} {
		_, err := parseServeEnv(tc.args, nil)
		var ue *usageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want a usage error mentioning %q", tc.args, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("%q: error shows the password: %v", tc.args, err)
		}
	}
	if got := redactDSN("postgres://u:pw@h/db"); strings.Contains(got, "pw") {
		t.Errorf("redactDSN = %q", got)
	}
}
