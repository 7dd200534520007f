package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// ConfigFileName is the config file's name in the user's config directory.
const ConfigFileName = "config.toml"

// perInvocation are flags that say what to do this time; a config file or
// the environment never sets them, so an unattended run cannot be made
// destructive by a file left behind.
var perInvocation = map[string]bool{
	"yes": true, "force": true, "reactivate": true, "dry-run": true, "org": true,
	"help": true, "config": true, "password-stdin": true, "otp-stdin": true, "show-token": true,
	"check": true, "renew": true,
}

// aliasGroups names the flags that are one setting under several names
// (the older ones hidden): once the command line, the environment or the
// config file gave one of them, the others are not taken from elsewhere.
var aliasGroups = map[string]string{"jwks": "jwks", "jwks-url": "jwks", "jwks-file": "jwks"}

// pathSettings are settings naming files: in a config file, a relative path
// is relative to the file's directory, and ~/ is the home directory.
var pathSettings = map[string]bool{
	"state": true, "cookie-file": true, "jwks": true, "jwks-file": true, "nonprod-jwks": true, "prod-jwks": true, "profile": true,
}

func resolvePath(configPath, v string) string {
	if strings.Contains(v, "://") || v == "" {
		return v
	}
	if rest, ok := strings.CutPrefix(v, "~/"); ok {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, rest)
		}
	}
	if filepath.IsAbs(v) {
		return v
	}
	return filepath.Join(filepath.Dir(configPath), v)
}

// DefaultConfigPath is $XDG_CONFIG_HOME/activator/config.toml (or the
// platform's user config directory).
func DefaultConfigPath() string {
	dir, err := os.UserConfigDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "activator", ConfigFileName)
}

// envName is the environment variable that can set a flag.
func envName(flag string) string {
	return "ACTIVATOR_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// applyConfig fills every flag of cmd that is not set on the command line:
// from its ACTIVATOR_* environment variable, else from the config file. The
// file is TOML with flag names as keys, e.g.
//
//	portal = "https://fhir.epic.com"
//	app = "50741"
//	jwks = "https://app.example.com/.well-known/jwks.json"
//	rate = 2
func (f *Factory) applyConfig(cmd *cobra.Command) error {
	path, explicit := f.ConfigPath, f.ConfigPath != ""
	if !explicit {
		if v := strings.TrimSpace(f.Getenv("ACTIVATOR_CONFIG")); v != "" {
			path, explicit = v, true
		} else {
			path = DefaultConfigPath()
		}
	}
	file := map[string]any{}
	if path != "" {
		b, err := os.ReadFile(path)
		switch {
		case err == nil:
			if _, err := toml.Decode(string(b), &file); err != nil {
				return UsageErrorf("config file %s: %s (fix the file, or point --config elsewhere)", path, oneLine(err.Error()))
			}
		case errors.Is(err, fs.ErrNotExist) && !explicit:
		default:
			return UsageErrorf("config file: %v (check --config or ACTIVATOR_CONFIG)", err)
		}
	}
	known := map[string]bool{}
	collectFlags(cmd.Root(), known)
	var keys []string
	for k := range file {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if perInvocation[k] {
			return UsageErrorf("config file %s: %q can only be given on the command line", path, k)
		}
		if !known[k] {
			return UsageErrorf("config file %s: unknown setting %q (settings are flag names, e.g. portal, app, jwks, rate)", path, k)
		}
	}
	var ferr error
	given := map[string]bool{} // alias groups already set
	cmd.Flags().VisitAll(func(fl *pflag.Flag) {
		if g := aliasGroups[fl.Name]; g != "" && fl.Changed {
			given[g] = true
		}
	})
	cmd.Flags().VisitAll(func(fl *pflag.Flag) {
		if ferr != nil || fl.Changed || perInvocation[fl.Name] || given[aliasGroups[fl.Name]] {
			return
		}
		val, from := "", ""
		if v, ok := lookupEnv(f.Getenv, envName(fl.Name)); ok {
			val, from = v, envName(fl.Name)
		} else if v, ok := file[fl.Name]; ok {
			val, from = configString(v), "config file "+path
			if pathSettings[fl.Name] {
				val = resolvePath(path, val)
			}
		} else {
			return
		}
		if err := cmd.Flags().Set(fl.Name, val); err != nil {
			ferr = UsageErrorf("%s: %s=%q: %v", from, fl.Name, val, err)
		}
		if f.origin == nil {
			f.origin = map[string]string{}
		}
		f.origin[fl.Name] = from
		if strings.HasPrefix(from, "config file") {
			f.origin[fl.Name] = fmt.Sprintf("the config file's %s (%s)", fl.Name, path)
		}
		if g := aliasGroups[fl.Name]; g != "" {
			given[g] = true
		}
	})
	return ferr
}

func lookupEnv(getenv func(string) string, name string) (string, bool) {
	v := strings.TrimSpace(getenv(name))
	return v, v != ""
}

func configString(v any) string {
	switch t := v.(type) {
	case []any:
		parts := make([]string, len(t))
		for i, e := range t {
			parts[i] = fmt.Sprint(e)
		}
		return strings.Join(parts, ",")
	}
	return fmt.Sprint(v)
}

func collectFlags(c *cobra.Command, into map[string]bool) {
	c.LocalFlags().VisitAll(func(fl *pflag.Flag) { into[fl.Name] = true })
	c.PersistentFlags().VisitAll(func(fl *pflag.Flag) { into[fl.Name] = true })
	for _, sub := range c.Commands() {
		collectFlags(sub, into)
	}
}
