// Package reasons turns a package's reason table into its errors: the one
// code lookup (CodeInternal for a reason the table lacks, which is a bug)
// and the *kyneta.Error every package of the module returns.
package reasons

import "github.com/kyneta-go/kyneta"

// Table is a package's reasons with their codes; docs/errors.md lists the
// same table (internal/errdoc checks it).
type Table struct {
	Pkg   string
	Codes map[string]kyneta.Code
}

// Code returns the code of reason.
func (t Table) Code(reason string) kyneta.Code {
	if c, ok := t.Codes[reason]; ok {
		return c
	}
	return kyneta.CodeInternal
}

// New returns the package's error for reason.
func (t Table) New(reason, detail string, cause error) *kyneta.Error {
	return &kyneta.Error{Code: t.Code(reason), Reason: reason, Pkg: t.Pkg, Detail: detail, Err: cause}
}
