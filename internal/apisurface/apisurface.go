package apisurface

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/build"
	"go/doc"
	"go/parser"
	"go/printer"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Package is the exported surface of one library package.
type Package struct {
	ImportPath string
	// Internal is true for packages under an internal/ directory, which
	// other modules cannot import; they do not count towards the public
	// total.
	Internal bool
	// Idents is the number of top-level exported identifiers: constants,
	// variables, functions and types.
	Idents int
	// Methods counts exported methods of exported types, including the
	// methods of exported interfaces; Fields counts exported fields of
	// exported struct types.
	Methods int
	Fields  int
	// Listing is the package's declarations, go doc style: one block per
	// declaration, without comments or function bodies.
	Listing []string
}

// Scan returns the surface of every library package under root, the
// directory of the go.mod declaring module, sorted by import path.
func Scan(root, module string) ([]Package, error) {
	var pkgs []Package
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		name := d.Name()
		if path != root && (name == "testdata" || name == "vendor" || name == "node_modules" ||
			strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
			return filepath.SkipDir
		}
		if path != root {
			// A nested module is not part of this one.
			if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil {
				return filepath.SkipDir
			}
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		importPath := module
		if rel != "." {
			importPath += "/" + filepath.ToSlash(rel)
		}
		p, ok, err := scanDir(path, importPath)
		if err != nil {
			return err
		}
		if ok {
			pkgs = append(pkgs, p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(pkgs, func(a, b Package) int { return strings.Compare(a.ImportPath, b.ImportPath) })
	return pkgs, nil
}

// scanDir reads the library package in dir; ok is false when there is
// none (no Go files, or a main package).
func scanDir(dir, importPath string) (Package, bool, error) {
	bp, err := build.ImportDir(dir, 0)
	if err != nil {
		if _, ok := err.(*build.NoGoError); ok {
			return Package{}, false, nil
		}
		return Package{}, false, fmt.Errorf("apisurface: %s: %w", dir, err)
	}
	if bp.Name == "main" {
		return Package{}, false, nil
	}
	fset := token.NewFileSet()
	var files []*ast.File
	for _, name := range bp.GoFiles {
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.ParseComments)
		if err != nil {
			return Package{}, false, fmt.Errorf("apisurface: %w", err)
		}
		files = append(files, f)
	}
	dp, err := doc.NewFromFiles(fset, files, importPath)
	if err != nil {
		return Package{}, false, fmt.Errorf("apisurface: %s: %w", importPath, err)
	}
	p := Package{ImportPath: importPath, Internal: isInternal(importPath)}
	r := renderer{fset: fset}
	values := func(vs []*doc.Value) {
		for _, v := range vs {
			p.Idents += exportedNames(v.Decl)
			p.Listing = append(p.Listing, r.decl(v.Decl))
		}
	}
	funcs := func(fs []*doc.Func, indent string) {
		for _, f := range fs {
			if f.Recv == "" {
				p.Idents++
			} else {
				p.Methods++
			}
			p.Listing = append(p.Listing, indent+r.decl(f.Decl))
		}
	}
	values(dp.Consts)
	values(dp.Vars)
	funcs(dp.Funcs, "")
	for _, t := range dp.Types {
		p.Idents++
		spec := t.Decl.Specs[0].(*ast.TypeSpec)
		switch st := spec.Type.(type) {
		case *ast.StructType:
			p.Fields += exportedFields(st.Fields)
		case *ast.InterfaceType:
			p.Methods += exportedFields(st.Methods)
		}
		p.Listing = append(p.Listing, r.decl(t.Decl))
		values(t.Consts)
		values(t.Vars)
		funcs(t.Funcs, "")
		funcs(t.Methods, "    ")
	}
	return p, true, nil
}

func isInternal(importPath string) bool {
	for _, part := range strings.Split(importPath, "/") {
		if part == "internal" {
			return true
		}
	}
	return false
}

// exportedNames counts the exported names a const or var declaration
// introduces (go/doc has already dropped the unexported specs it could).
func exportedNames(d *ast.GenDecl) int {
	n := 0
	for _, s := range d.Specs {
		for _, name := range s.(*ast.ValueSpec).Names {
			if name.IsExported() {
				n++
			}
		}
	}
	return n
}

// exportedFields counts the exported names in a struct's fields or an
// interface's methods; embedded types count by their type name.
func exportedFields(fl *ast.FieldList) int {
	n := 0
	for _, f := range fl.List {
		if len(f.Names) == 0 {
			if name := embeddedName(f.Type); name != "" && ast.IsExported(name) {
				n++
			}
			continue
		}
		for _, name := range f.Names {
			if name.IsExported() {
				n++
			}
		}
	}
	return n
}

func embeddedName(e ast.Expr) string {
	switch t := e.(type) {
	case *ast.Ident:
		return t.Name
	case *ast.StarExpr:
		return embeddedName(t.X)
	case *ast.SelectorExpr:
		return t.Sel.Name
	case *ast.IndexExpr:
		return embeddedName(t.X)
	case *ast.IndexListExpr:
		return embeddedName(t.X)
	}
	return "" // a union or ~T term of a constraint: not a method
}

type renderer struct{ fset *token.FileSet }

// decl prints a declaration like go doc does, minus the comments: function
// bodies are dropped and function literals in values are shown empty.
func (r renderer) decl(d ast.Decl) string {
	ast.Inspect(d, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.FuncDecl:
			n.Doc, n.Body = nil, nil
		case *ast.GenDecl:
			n.Doc = nil
		case *ast.ValueSpec:
			n.Doc, n.Comment = nil, nil
		case *ast.TypeSpec:
			n.Doc, n.Comment = nil, nil
		case *ast.Field:
			n.Doc, n.Comment = nil, nil
		case *ast.FuncLit:
			n.Body = &ast.BlockStmt{}
		}
		return true
	})
	var b bytes.Buffer
	cfg := printer.Config{Mode: printer.UseSpaces | printer.TabIndent, Tabwidth: 8}
	if err := cfg.Fprint(&b, r.fset, d); err != nil {
		return fmt.Sprintf("/* %v */", err)
	}
	return b.String()
}

// Markdown renders the counts of all packages, then the listing of the
// public ones.
func Markdown(pkgs []Package) []byte {
	var b bytes.Buffer
	b.WriteString("# Exported API\n\n")
	b.WriteString("Generated by `go test ./internal/apisurface -update`; the test fails when this\n")
	b.WriteString("file is stale, so a change of the public surface shows up in review.\n\n")
	b.WriteString("*Identifiers* are the top-level exported constants, variables, functions and\n")
	b.WriteString("types a user can name; exported methods and struct fields are counted\n")
	b.WriteString("apart. Internal packages cannot be imported by other modules and are not in\n")
	b.WriteString("the public total. Tests, commands and examples are not counted.\n\n")
	b.WriteString("| package | identifiers | methods | fields |\n|---|--:|--:|--:|\n")
	var pub, all Package
	for _, p := range pkgs {
		name := p.ImportPath
		if p.Internal {
			name += " (internal)"
		}
		fmt.Fprintf(&b, "| `%s` | %d | %d | %d |\n", name, p.Idents, p.Methods, p.Fields)
		add(&all, p)
		if !p.Internal {
			add(&pub, p)
		}
	}
	fmt.Fprintf(&b, "| **public total** | **%d** | **%d** | **%d** |\n", pub.Idents, pub.Methods, pub.Fields)
	fmt.Fprintf(&b, "| total with internal | %d | %d | %d |\n", all.Idents, all.Methods, all.Fields)
	for _, p := range pkgs {
		if p.Internal {
			continue
		}
		fmt.Fprintf(&b, "\n## %s\n\n%d identifiers, %d methods, %d fields.\n\n```go\n", p.ImportPath, p.Idents, p.Methods, p.Fields)
		for _, l := range p.Listing {
			b.WriteString(l)
			b.WriteString("\n")
		}
		b.WriteString("```\n")
	}
	return b.Bytes()
}

func add(sum *Package, p Package) {
	sum.Idents += p.Idents
	sum.Methods += p.Methods
	sum.Fields += p.Fields
}
