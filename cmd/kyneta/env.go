package main

import (
	"flag"
	"fmt"
	"strings"
)

// envName is the environment variable that sets a flag of serve: --max-message-size
// is KYNETA_MAX_MESSAGE_SIZE.
func envName(flagName string) string {
	return "KYNETA_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// withEnvNames appends each flag's variable to its usage, so -h lists it.
func withEnvNames(fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) { f.Usage += " [$" + envName(f.Name) + "]" })
}

// applyEnv sets every flag not given on the command line from its
// environment variable, if that is set: the command line wins.
func applyEnv(fs *flag.FlagSet, lookup func(string) (string, bool)) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if err != nil || given[f.Name] {
			return
		}
		if v, ok := lookup(envName(f.Name)); ok {
			if e := fs.Set(f.Name, v); e != nil {
				err = &usageError{fmt.Sprintf("serve: %s=%q: %v", envName(f.Name), v, e)}
			}
		}
	})
	return err
}
