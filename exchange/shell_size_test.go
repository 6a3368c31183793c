package exchange

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// maxShellLines bounds the exchange's shell: the unexported functions and
// methods outside the core files (*_program.go, pure and checked for
// purity), that is the code that runs the dispatcher, carries out the
// core's effects (sends, replica exports and imports, store I/O, timers)
// and delivers events. Decisions belong in the core; a shell that grows
// past this is taking some back.
const maxShellLines = 1500

// TestShellSize counts code lines (no blank or comment-only lines) of the
// shell and, for the record, of the exported API methods and of the
// declarations, and fails when the shell outgrows maxShellLines.
func TestShellSize(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var shell, api, decls, core int
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(src), "\n")
		codeLines := func(n ast.Node) int {
			c := 0
			for l := fset.Position(n.Pos()).Line; l <= fset.Position(n.End()).Line; l++ {
				if s := strings.TrimSpace(lines[l-1]); s != "" && !strings.HasPrefix(s, "//") {
					c++
				}
			}
			return c
		}
		f, err := parser.ParseFile(fset, name, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			n := codeLines(d)
			fd, isFunc := d.(*ast.FuncDecl)
			switch {
			case strings.HasSuffix(name, "_program.go"):
				core += n
			case !isFunc:
				decls += n
			case fd.Name.IsExported():
				api += n
			default:
				shell += n
			}
		}
	}
	t.Logf("exchange: shell %d code lines (max %d), exported API methods %d, declarations %d, core %d", shell, maxShellLines, api, decls, core)
	if shell == 0 || core == 0 {
		t.Fatal("nothing counted: run from the package directory")
	}
	if shell > maxShellLines {
		t.Errorf("the shell has %d code lines, more than %d: move decisions into the core", shell, maxShellLines)
	}
}
