package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
)

// tokenEnv holds the bearer token of put and watch when neither --token
// nor --token-file is given: a token in the environment stays out of the
// process list and shell history.
const tokenEnv = "KYNETA_TOKEN"

// lookupEnv reads the environment (a variable, so tests can replace it).
var lookupEnv = os.LookupEnv

// tokenFileFlag adds --token-file to put and watch.
func tokenFileFlag(fs *flag.FlagSet, file *string) {
	fs.StringVar(file, "token-file", "", "file holding the bearer token (alone on its line); default: $"+tokenEnv)
}

// resolveToken settles the token of put and watch: --token, else the
// content of --token-file, else $KYNETA_TOKEN. Errors never show the
// token.
func resolveToken(c *clientConfig) error {
	switch {
	case c.token != "" && c.tokenFile != "":
		return &usageError{"--token and --token-file are mutually exclusive"}
	case c.token != "":
		return nil
	case c.tokenFile != "":
		b, err := os.ReadFile(c.tokenFile)
		if err != nil {
			return fmt.Errorf("token file: %w", err)
		}
		tok := strings.TrimSpace(string(b))
		switch {
		case tok == "":
			return fmt.Errorf("token file %s is empty", c.tokenFile)
		case strings.ContainsAny(tok, " \t\r\n"):
			return fmt.Errorf("token file %s: want the token alone, found several words or lines", c.tokenFile)
		}
		c.token = tok
	default:
		c.token, _ = lookupEnv(tokenEnv)
		c.token = strings.TrimSpace(c.token)
	}
	return nil
}
