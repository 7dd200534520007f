// Package lint holds checks on the repository's own source.
package lint

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// Function length limits, in lines from "func" to the closing brace: long
// functions are where a maintainer gets lost. Tests are not counted.
const (
	DefaultMaxFuncLines    = 100
	DefaultMaxCLIFuncLines = 80 // commands stay thin: the work is in the packages
)

// TestFunctionLength fails for any function of the product over its limit.
func TestFunctionLength(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		limit := DefaultMaxFuncLines
		if strings.HasPrefix(filepath.ToSlash(rel), "internal/cli/") {
			limit = DefaultMaxCLIFuncLines
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		for _, decl := range f.Decls {
			fd, ok := decl.(*ast.FuncDecl)
			if !ok || fd.Body == nil {
				continue
			}
			checked++
			if n := fset.Position(fd.End()).Line - fset.Position(fd.Pos()).Line + 1; n > limit {
				t.Errorf("%s: %s is %d lines, over the limit of %d: split it", rel, fd.Name.Name, n, limit)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 100 {
		t.Fatalf("only %d functions checked: is the repository root %s?", checked, root)
	}
}
