package purity

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Rule names the kind of a Violation.
type Rule string

const (
	RuleImport    Rule = "import"    // a forbidden package is imported
	RuleClock     Rule = "clock"     // a wall-clock or timer function of package time is used
	RuleGoroutine Rule = "goroutine" // a go statement
	RuleParse     Rule = "parse"     // the file (or the tree) could not be read or parsed
)

// Violation is one breach of the pure-program rules.
type Violation struct {
	Pos     token.Position // where; Filename is as reached from the path given to Check
	Rule    Rule
	Message string // e.g. `import of "sync"`, "use of time.Now", "go statement"
}

func (v Violation) String() string { return fmt.Sprintf("%s: %s", v.Pos, v.Message) }

// forbiddenImports lists packages a program may not import; each also
// forbids its subpackages (net/http, os/exec, sync/atomic, log/slog, io/fs).
var forbiddenImports = []string{
	"net", "os", "sync", "io", "log",
	"math/rand", "crypto/rand", // math/rand covers math/rand/v2
}

// forbiddenTime lists the functions of package time that read the clock or
// start timers. Types and constants (time.Duration, time.Second) are fine.
var forbiddenTime = []string{
	"Now", "Since", "Until",
	"After", "AfterFunc", "Sleep", "Tick", "NewTicker", "NewTimer",
}

// IsProgramFile reports whether a file name marks a pure program:
// program.go or *_program.go (never a _test.go file).
func IsProgramFile(name string) bool {
	base := filepath.Base(name)
	return base == "program.go" || strings.HasSuffix(base, "_program.go")
}

// Check finds every program file under path (a directory, walked
// recursively, or a single file) with Files and reports its violations, in
// file order and by position within a file. Read and parse failures are
// reported as RuleParse violations.
func Check(path string) []Violation {
	files, out := files(path)
	for _, f := range files {
		out = append(out, CheckFile(f)...)
	}
	return out
}

// Files lists the program files Check examines under path, in lexical
// order. A path naming a file is returned as is. Below path, directories
// named testdata or vendor, hidden or underscore directories, and nested
// modules (directories with their own go.mod) are skipped, as the go tool
// skips them; _test.go files are never program files.
func Files(path string) []string {
	f, _ := files(path)
	return f
}

func files(path string) ([]string, []Violation) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, []Violation{{Pos: token.Position{Filename: path}, Rule: RuleParse, Message: err.Error()}}
	}
	if !info.IsDir() {
		return []string{path}, nil
	}
	var list []string
	var problems []Violation
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			problems = append(problems, Violation{Pos: token.Position{Filename: p}, Rule: RuleParse, Message: err.Error()})
			return nil
		}
		if d.IsDir() {
			if p != path && skipDir(p, d.Name()) {
				return filepath.SkipDir
			}
			return nil
		}
		if IsProgramFile(p) {
			list = append(list, p)
		}
		return nil
	})
	if err != nil {
		problems = append(problems, Violation{Pos: token.Position{Filename: path}, Rule: RuleParse, Message: err.Error()})
	}
	return list, problems
}

func skipDir(path, name string) bool {
	if name == "testdata" || name == "vendor" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
		return true
	}
	_, err := os.Stat(filepath.Join(path, "go.mod"))
	return err == nil
}

// CheckFile reports the violations in one Go source file, whatever its name.
func CheckFile(filename string) []Violation {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, filename, nil, parser.SkipObjectResolution)
	if err != nil {
		return []Violation{{Pos: token.Position{Filename: filename}, Rule: RuleParse, Message: err.Error()}}
	}
	var out []Violation
	add := func(pos token.Pos, rule Rule, msg string) {
		out = append(out, Violation{Pos: fset.Position(pos), Rule: rule, Message: msg})
	}

	// The names under which package time is visible in this file: usually
	// "time", or an alias; "." means its identifiers are used bare.
	timeNames := map[string]bool{}
	for _, imp := range f.Imports {
		path, err := strconv.Unquote(imp.Path.Value)
		if err != nil {
			continue // the parser already rejects malformed import paths
		}
		if forbiddenImport(path) {
			add(imp.Pos(), RuleImport, fmt.Sprintf("import of %q", path))
		}
		if path == "time" {
			name := "time"
			if imp.Name != nil {
				name = imp.Name.Name
			}
			timeNames[name] = true
		}
	}

	selectors := map[*ast.Ident]bool{} // x.Name: the Name is not a bare use
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.GoStmt:
			add(n.Pos(), RuleGoroutine, "go statement")
		case *ast.SelectorExpr:
			selectors[n.Sel] = true
			// A use, not only a call: f := time.Now; f() reads the clock too.
			// A local variable named like the time import is reported as
			// well; rename it rather than shadow the package.
			if x, ok := n.X.(*ast.Ident); ok && timeNames[x.Name] && slices.Contains(forbiddenTime, n.Sel.Name) {
				add(n.Pos(), RuleClock, "use of time."+n.Sel.Name)
			}
		case *ast.Ident:
			if timeNames["."] && !selectors[n] && slices.Contains(forbiddenTime, n.Name) {
				add(n.Pos(), RuleClock, "use of time."+n.Name+" (dot import)")
			}
		}
		return true
	})
	return out
}

func forbiddenImport(path string) bool {
	for _, p := range forbiddenImports {
		if path == p || strings.HasPrefix(path, p+"/") {
			return true
		}
	}
	return false
}

// FindModuleRoot returns the nearest directory at or above dir that holds a
// go.mod file.
func FindModuleRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("purity: no go.mod found above " + dir)
		}
		dir = parent
	}
}
