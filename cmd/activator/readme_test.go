package main

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// readmeSections are the README sections testdata/script/readme.txtar runs
// command by command.
var readmeSections = []string{
	"## Quick start on the real portal",
	"## Nightly",
	"## Switching every organization to direct JWKS, and rotating keys",
}

// readmePlaceholders are what the script puts in place of the README's
// placeholders (the portal's address comes from the environment).
var readmePlaceholders = strings.NewReplacer(
	"bin/activator ", "activator ",
	"https://app.example.com/.well-known/jwks.json", "$KEYS_URL/rsa-a.jwks.json",
)

// TestREADMEScript keeps the README and readme.txtar together: every
// activator command in the README's quick start, nightly and key-rotation
// code blocks is run by the script with the same flags, and the script's
// config file is the README's. When the README changes, the script must.
func TestREADMEScript(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	script, err := os.ReadFile("../../testdata/script/readme.txtar")
	if err != nil {
		t.Fatal(err)
	}
	runs := map[string]bool{}
	execLine := regexp.MustCompile(`^(?:\[[^\]]+\] )?(?:! )?exec (activator .*)$`)
	for _, l := range strings.Split(string(script), "\n") {
		if m := execLine.FindStringSubmatch(l); m != nil {
			runs[m[1]] = true
		}
	}
	block := regexp.MustCompile("(?s)```(sh|cron|toml)\n(.*?)```")
	n := 0
	for _, title := range readmeSections {
		i := strings.Index(string(readme), "\n"+title+"\n")
		if i < 0 {
			t.Fatalf("README has no section %q", title)
		}
		body := string(readme)[i+len(title)+2:]
		if j := strings.Index(body, "\n## "); j >= 0 {
			body = body[:j]
		}
		for _, b := range block.FindAllStringSubmatch(body, -1) {
			if b[1] == "toml" {
				if !strings.Contains(string(script), "-- config.toml --\n"+b[2]) {
					t.Errorf("the README's config file differs from readme.txtar's config.toml:\n%s", b[2])
				}
				continue
			}
			for _, line := range strings.Split(b[2], "\n") {
				if k := strings.Index(line, "#"); k >= 0 {
					line = line[:k]
				}
				for _, c := range strings.Split(line, "&&") {
					c = strings.TrimSpace(c)
					if k := strings.Index(c, "activator "); k >= 0 && !strings.HasPrefix(c, "go ") {
						c = readmePlaceholders.Replace(strings.TrimSpace(c[k:]))
						if strings.HasPrefix(c, "activator/") {
							continue // a path, not a command
						}
						n++
						if !runs[c] {
							t.Errorf("%s: readme.txtar does not run %q", title, c)
						}
					}
				}
			}
		}
	}
	if n < 8 {
		t.Fatalf("found only %d README commands: the sections or their code blocks moved", n)
	}
}
