//go:build tools

package main

import (
	_ "github.com/chromedp/chromedp"
	_ "github.com/go-jose/go-jose/v4"
	_ "github.com/rogpeppe/go-internal/testscript"
	_ "github.com/schollz/progressbar/v3"
	_ "github.com/spf13/cobra"
	_ "golang.org/x/term"
	_ "golang.org/x/time/rate"
	_ "modernc.org/sqlite"
)
