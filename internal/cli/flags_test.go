package cli

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/activator-dev/activator/internal/activate"
	"github.com/activator-dev/activator/internal/browser"
	"github.com/activator-dev/activator/internal/keys"
	"github.com/activator-dev/activator/internal/pace"
	"github.com/activator-dev/activator/internal/portal"
	"github.com/activator-dev/activator/internal/probe"
	"github.com/activator-dev/activator/internal/store"
	"github.com/spf13/cobra"
)

// flagResult is what a command's runF saw: whether it ran, and what it made
// of its arguments.
type flagResult struct {
	called bool
	got    string
}

// flagCase is one command line of a flag table: the options runF should
// see (want) or the error the command should refuse it with (wantErr).
type flagCase struct {
	command string
	args    []string
	want    string
	wantErr string
}

// runFlagCases runs each case through the named command built with a runF
// that records into a fresh flagResult.
func runFlagCases(t *testing.T, commands map[string]func(*flagResult) *cobra.Command, tests []flagCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.command+" "+strings.Join(tt.args, " "), func(t *testing.T) {
			r := &flagResult{}
			runFlags(t, commands[tt.command](r), tt.args, &r.called, tt.wantErr)
			if tt.wantErr == "" && r.got != tt.want {
				t.Fatalf("got %q, want %q", r.got, tt.want)
			}
		})
	}
}

// runFlags runs cmd with args, its runF recording the options: what a
// command makes of its flags, apart from what it does. A refused
// combination must be a usage error (exit 2) and must not reach runF.
func runFlags(t *testing.T, cmd *cobra.Command, args []string, called *bool, wantErr string) {
	t.Helper()
	cmd.SetArgs(args)
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	err := cmd.ExecuteContext(context.Background())
	if wantErr == "" {
		if err != nil || !*called {
			t.Fatalf("%v: err %v, runF called %v", args, err, *called)
		}
		return
	}
	if err == nil || !strings.Contains(err.Error(), wantErr) {
		t.Fatalf("%v: err %v, want %q", args, err, wantErr)
	}
	if code, _ := classify(err); code != ExitUsage {
		t.Errorf("%v: exit %d, want %d", args, code, ExitUsage)
	}
	if *called {
		t.Errorf("%v: runF called despite the error", args)
	}
}

func TestActivateFlags(t *testing.T) {
	defaults := func(o ActivateOptions) ActivateOptions {
		if o.Rate == 0 {
			o.Rate = pace.DefaultRate
		}
		if o.Concurrency == 0 {
			o.Concurrency = activate.DefaultConcurrency
		}
		o.MaxFailures, o.Retries, o.PageSize, o.Settle = activate.DefaultMaxFailures, pace.DefaultRetries, portal.DefaultPageSize, DefaultSettle
		ps := &o.ProbeSettings
		ps.Scope, ps.Window, ps.WarnAfter, ps.FailAfter = probe.DefaultScope, probe.DefaultWindow, DefaultProbeWarnAfter, DefaultProbeFailAfter
		ps.HostRate, ps.Concurrency, ps.Timeout, ps.TimeLimit = probe.DefaultHostRate, probe.DefaultConcurrency, probe.DefaultTimeout, probe.DefaultTimeLimit
		return o
	}
	tests := []struct {
		name    string
		args    []string
		want    ActivateOptions // with defaults() applied; F is not compared
		wantErr string
	}{
		{name: "one key set", args: []string{"--jwks", "k.json"}, want: ActivateOptions{JWKS: "k.json"}},
		{name: "older names", args: []string{"--jwks-url", "https://app.example.com/jwks.json"}, want: ActivateOptions{JWKSURL: "https://app.example.com/jwks.json"}},
		{name: "per environment, split", args: []string{"--nonprod-jwks", "a.json", "--prod-jwks", "b.json", "--split"},
			want: ActivateOptions{NonProdJWKS: "a.json", ProdJWKS: "b.json", Split: true}},
		{name: "JWK Set URL", args: []string{"--jku", "--reactivate", "--yes"}, want: ActivateOptions{JKU: true, Reactivate: true, Yes: true}},
		{name: "orgs and pace", args: []string{"--jwks", "k.json", "--org", "1,2", "--org", "30", "--rate", "10", "--concurrency", "4", "--dry-run", "--force"},
			want: ActivateOptions{JWKS: "k.json", Orgs: []string{"1", "2", "30"}, Rate: 10, Concurrency: 4, DryRun: true, Force: true}},
		{name: "probe after the run", args: []string{"--jwks", "k.json", "--probe", "--probe-client-id", "abc", "--probe-redirect-uri", "https://a/cb"},
			want: ActivateOptions{JWKS: "k.json", Probe: true, ProbeSettings: ProbeSettings{ClientID: "abc", RedirectURI: "https://a/cb"}}},
		{name: "probe without its client id", args: []string{"--jwks", "k.json", "--probe"}, wantErr: "no client id to probe with"},
		{name: "no keys", args: nil, wantErr: "no keys: pass --jwks"},
		{name: "jku with keys", args: []string{"--jku", "--jwks", "k.json"}, wantErr: "--jku uploads no keys"},
		{name: "jku split", args: []string{"--jku", "--split"}, wantErr: "--split is for direct JWKS mode"},
		{name: "two sources", args: []string{"--jwks", "k.json", "--jwks-file", "l.json"}, wantErr: "give one key source"},
		{name: "one source and per environment", args: []string{"--jwks", "k.json", "--prod-jwks", "b.json"}, wantErr: "give one key source"},
		{name: "half per environment", args: []string{"--nonprod-jwks", "a.json"}, wantErr: "--nonprod-jwks and --prod-jwks go together"},
		{name: "rate zero", args: []string{"--jku", "--rate", "0"}, wantErr: "--rate 0 is out of range"},
		{name: "rate too high", args: []string{"--jku", "--rate", "51"}, wantErr: "--rate 51 is out of range"},
		{name: "rate NaN", args: []string{"--jku", "--rate", "NaN"}, wantErr: "--rate NaN is out of range"},
		{name: "rate infinite", args: []string{"--jku", "--rate", "Inf"}, wantErr: "--rate +Inf is out of range"},
		{name: "rate below one call in 10 s", args: []string{"--jku", "--rate", "0.05"}, wantErr: "--rate 0.05 is out of range"},
		{name: "concurrency", args: []string{"--jku", "--concurrency", "9"}, wantErr: "--concurrency 9 is out of range"},
		{name: "max failures", args: []string{"--jku", "--max-failures", "0"}, wantErr: "--max-failures must be at least 1"},
		{name: "retries", args: []string{"--jku", "--retries", "21"}, wantErr: "--retries 21 is out of range"},
		{name: "settle", args: []string{"--jku", "--settle", "-1m"}, wantErr: "--settle -1m0s is negative"},
		{name: "page size", args: []string{"--jku", "--page-size", "1001"}, wantErr: "--page-size 1001 is out of range"},
		{name: "ECMId-like org", args: []string{"--jku", "--org", "1441_2"}, wantErr: `--org "1441_2" is not an OrgId`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got *ActivateOptions
			called := false
			cmd := NewCmdActivate(&Factory{}, func(o *ActivateOptions) error { got, called = o, true; return nil })
			runFlags(t, cmd, tt.args, &called, tt.wantErr)
			if tt.wantErr != "" {
				return
			}
			g := *got
			g.F, g.Store, g.Client = nil, nil, nil
			if want := defaults(tt.want); !reflect.DeepEqual(g, want) {
				t.Fatalf("options\n %+v\nwant\n %+v", g, want)
			}
		})
	}
}

func TestOrgsSyncFlags(t *testing.T) {
	tests := []struct {
		args    []string
		page    int
		rate    float64
		wantErr string
	}{
		{args: nil, page: portal.DefaultPageSize, rate: pace.DefaultRate},
		{args: []string{"--page-size", "1000", "--rate", "0.5"}, page: 1000, rate: 0.5},
		{args: []string{"--page-size", "0"}, wantErr: "--page-size 0 is out of range"},
		{args: []string{"--rate", "0"}, wantErr: "--rate 0 is out of range"},
		{args: []string{"--rate", "100000"}, wantErr: "--rate 100000 is out of range"},
		{args: []string{"--rate", "nan"}, wantErr: "--rate NaN is out of range"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var got *SyncOptions
			called := false
			cmd := NewCmdOrgsSync(&Factory{}, func(o *SyncOptions) error { got, called = o, true; return nil })
			runFlags(t, cmd, tt.args, &called, tt.wantErr)
			if tt.wantErr == "" && (got.PageSize != tt.page || got.Rate != tt.rate) {
				t.Fatalf("page size %d, rate %g", got.PageSize, got.Rate)
			}
		})
	}
}

func TestOrgsListFlags(t *testing.T) {
	gone := time.Now()
	orgs := map[string]store.Org{
		"pending": {OrgID: "1", Status: int(portal.StatusNotResponded)},
		"enabled": {OrgID: "2", Status: int(portal.StatusEnabled)},
		"nonprod": {OrgID: "3", Status: int(portal.StatusNonProdOnly)},
		"odd":     {OrgID: "4", Status: 7},
		"gone":    {OrgID: "5", Status: int(portal.StatusEnabled), GoneSince: &gone},
	}
	tests := []struct {
		args    []string
		kept    []string
		wantErr string
	}{
		{args: nil, kept: []string{"enabled", "nonprod", "odd", "pending"}},
		{args: []string{"--status", "enabled,3"}, kept: []string{"enabled", "nonprod"}},
		{args: []string{"--status", "pending", "--status", "unknown"}, kept: []string{"odd", "pending"}},
		{args: []string{"--gone"}, kept: []string{"gone"}},
		{args: []string{"--status", "not-responded", "--gone"}, kept: nil},
		{args: []string{"--status", "approved"}, wantErr: `--status "approved" is not one of`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var got *ListOptions
			called := false
			cmd := NewCmdOrgsList(&Factory{}, func(o *ListOptions) error { got, called = o, true; return nil })
			runFlags(t, cmd, tt.args, &called, tt.wantErr)
			if tt.wantErr != "" {
				return
			}
			var kept []string
			for name, o := range orgs {
				if got.keep(o) {
					kept = append(kept, name)
				}
			}
			sort.Strings(kept)
			if !reflect.DeepEqual(kept, tt.kept) {
				t.Fatalf("kept %v, want %v", kept, tt.kept)
			}
		})
	}
}

// TestReadCommandFlags: the flags of the commands that read the state or a
// key set, checked before their run function.
func TestReadCommandFlags(t *testing.T) {
	commands := map[string]func(*flagResult) *cobra.Command{
		"brands": func(r *flagResult) *cobra.Command {
			return NewCmdBrands(&Factory{}, func(o *BrandsOptions) error {
				r.called, r.got = true, fmt.Sprintf("smart=%v rate=%g", o.SmartConfig, o.Rate)
				return nil
			})
		},
		"jwks check": func(r *flagResult) *cobra.Command {
			return NewCmdJWKSCheck(&Factory{}, func(o *JWKSCheckOptions) error {
				r.called, r.got = true, fmt.Sprintf("%s tries=%d", o.Source, o.Tries)
				return nil
			})
		},
		"report": func(r *flagResult) *cobra.Command {
			return NewCmdReport(&Factory{}, func(o *ReportOptions) error { r.called, r.got = true, o.Out; return nil })
		},
		"runs": func(r *flagResult) *cobra.Command {
			return NewCmdRuns(&Factory{}, func(o *RunsOptions) error { r.called, r.got = true, fmt.Sprint(o.Limit); return nil })
		},
		"runs show": func(r *flagResult) *cobra.Command {
			return NewCmdRunsShow(&Factory{}, func(o *RunsShowOptions) error { r.called, r.got = true, fmt.Sprint(o.id); return nil })
		},
		"orgs show": func(r *flagResult) *cobra.Command {
			return NewCmdOrgsShow(&Factory{}, func(o *OrgsShowOptions) error { r.called, r.got = true, o.id; return nil })
		},
	}
	tests := []flagCase{
		{command: "brands", args: []string{"--rate", "0"}, want: "smart=false rate=0"}, // --rate counts only with --smart-config
		{command: "brands", args: []string{"--smart-config", "--rate", "4"}, want: "smart=true rate=4"},
		{command: "brands", args: []string{"--smart-config", "--rate", "0"}, wantErr: "--rate must be above 0"},
		{command: "brands", args: []string{"--smart-config", "--concurrency", "0"}, wantErr: "--concurrency 0 is out of range"},
		{command: "brands", args: []string{"--smart-config", "--timeout", "0s"}, wantErr: "--timeout must be above 0"},
		{command: "brands", args: []string{"--smart-config", "--retries", "-1"}, wantErr: "--retries must be 0 or more"},
		{command: "jwks check", args: []string{"jwks.json", "--tries", "3"}, want: "jwks.json tries=3"},
		{command: "jwks check", args: []string{"jwks.json", "--tries", "11"}, wantErr: "--tries 11 is out of range"},
		{command: "jwks check", args: []string{"jwks.json", "--interval", "-1s"}, wantErr: "--interval must not be negative"},
		{command: "jwks check", args: []string{"jwks.json", "--timeout", "0s"}, wantErr: "--timeout must be positive"},
		{command: "report", args: []string{"--out", "r.csv"}, want: "r.csv"},
		{command: "report", args: []string{"--out", "-", "--format", "JSON"}, want: "-"},
		{command: "report", args: nil, wantErr: "no --out"},
		{command: "report", args: []string{"--out", "r.txt", "--format", "pdf"}, wantErr: `--format "pdf" is not one of`},
		{command: "runs", args: []string{"--limit", "0"}, want: "0"},
		{command: "runs", args: []string{"list", "--limit", "-1"}, wantErr: "--limit -1 is negative"},
		{command: "runs show", args: []string{"#12"}, want: "12"},
		{command: "runs show", args: []string{"0"}, wantErr: `"0" is not a run id`},
		{command: "runs show", args: []string{"twelve"}, wantErr: `"twelve" is not a run id`},
		{command: "orgs show", args: []string{" 1441 "}, want: "1441"},
		{command: "orgs show", args: []string{"1441_50741"}, wantErr: `"1441_50741" is not an OrgId`},
	}
	runFlagCases(t, commands, tests)
}

// TestDiagnosticFlags: token and assertion name every missing required
// flag at once, before reading a key or calling anything.
func TestDiagnosticFlags(t *testing.T) {
	commands := map[string]func(*bool) *cobra.Command{
		"token": func(c *bool) *cobra.Command {
			return NewCmdToken(&Factory{}, func(*TokenOptions) error { *c = true; return nil })
		},
		"assertion new": func(c *bool) *cobra.Command {
			return NewCmdAssertionNew(&Factory{}, func(*AssertionNewOptions) error { *c = true; return nil })
		},
		"assertion check": func(c *bool) *cobra.Command {
			return NewCmdAssertionCheck(&Factory{}, func(*AssertionCheckOptions) error { *c = true; return nil })
		},
	}
	tests := []struct {
		command string
		args    []string
		wantErr string
	}{
		{command: "token", args: []string{"--token-url", "https://o.example/token", "--client-id", "abc", "--key", "k.pem"}},
		{command: "token", args: []string{"--client-id", "abc"}, wantErr: "missing --token-url, --key: see --help"},
		{command: "token", args: []string{"--token-url", "https://o.example/token", "--client-id", " ", "--key", "k.pem"}, wantErr: "missing --client-id"},
		{command: "assertion new", args: []string{"--token-url", "https://o.example/token", "--client-id", "abc", "--key", "k.pem"}},
		{command: "assertion new", args: nil, wantErr: "missing --client-id, --token-url, --key"},
		{command: "assertion check", args: []string{"eyJ.x.y", "--token-url", "https://o.example/token", "--client-id", "abc"}},
		{command: "assertion check", args: []string{"eyJ.x.y", "--client-id", "abc"}, wantErr: "missing --token-url"},
	}
	for _, tt := range tests {
		t.Run(tt.command+" "+strings.Join(tt.args, " "), func(t *testing.T) {
			called := false
			runFlags(t, commands[tt.command](&called), tt.args, &called, tt.wantErr)
		})
	}
}

// TestLoginFlags: login's flags are checked before the portal, the app or
// the session, and --renew settles into a headless sign-in with its own
// timeout.
func TestLoginFlags(t *testing.T) {
	type want struct {
		headless bool
		timeout  time.Duration
	}
	tests := []struct {
		name    string
		cookie  string // the global --cookie-file
		args    []string
		want    want
		wantErr string
	}{
		{name: "window", args: nil, want: want{timeout: browser.DefaultTimeout}},
		{name: "headless", args: []string{"--headless", "--password-stdin", "--otp-stdin", "--timeout", "2m"}, want: want{headless: true, timeout: 2 * time.Minute}},
		{name: "renew", args: []string{"--renew"}, want: want{headless: true, timeout: browser.DefaultRenewTimeout}},
		{name: "renew with its timeout", args: []string{"--renew", "--timeout", "45s"}, want: want{headless: true, timeout: 45 * time.Second}},
		{name: "check ignores the sign-in flags", args: []string{"--check", "--timeout", "0s", "--password-stdin"}, want: want{}},
		{name: "imported session ignores --password-stdin", cookie: "c.txt", args: []string{"--password-stdin"}, want: want{timeout: browser.DefaultTimeout}},
		{name: "zero timeout", args: []string{"--headless", "--timeout", "0s"}, wantErr: "--timeout must be above 0"},
		{name: "negative timeout with a session", cookie: "c.txt", args: []string{"--timeout", "-1s"}, wantErr: "--timeout must be above 0"},
		{name: "renew with stdin", args: []string{"--renew", "--otp-stdin"}, wantErr: "--renew uses the browser profile alone"},
		{name: "renew with stdin and a session", cookie: "c.txt", args: []string{"--renew", "--password-stdin"}, wantErr: "--renew uses the browser profile alone"},
		{name: "stdin without headless", args: []string{"--password-stdin"}, wantErr: "are for --headless"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got *LoginOptions
			called := false
			f := &Factory{CookieFile: tt.cookie}
			cmd := NewCmdLogin(f, func(o *LoginOptions) error { got, called = o, true; return nil })
			runFlags(t, cmd, tt.args, &called, tt.wantErr)
			if tt.wantErr != "" {
				return
			}
			if g := (want{got.Headless, got.Timeout}); got.Check != (tt.want == want{}) || (!got.Check && g != tt.want) {
				t.Fatalf("check %v, headless %v, timeout %s; want %+v", got.Check, g.headless, g.timeout, tt.want)
			}
			if got.SessionGiven != (f.Cookie != "" || f.CookieFile != "") {
				t.Fatalf("session given %v", got.SessionGiven)
			}
		})
	}
}

// TestSessionAndKeyCommandFlags: status, logout and jwks from-pem bind
// their flags into the options and check them before their run function.
func TestSessionAndKeyCommandFlags(t *testing.T) {
	commands := map[string]func(*flagResult) *cobra.Command{
		"status": func(r *flagResult) *cobra.Command {
			return NewCmdStatus(&Factory{}, func(o *StatusOptions) error { r.called, r.got = true, fmt.Sprintf("all=%v", o.All); return nil })
		},
		"logout": func(r *flagResult) *cobra.Command {
			return NewCmdLogout(&Factory{}, func(o *LogoutOptions) error {
				r.called, r.got = true, fmt.Sprintf("profile=%s keep=%v", o.Profile, o.KeepProfile)
				return nil
			})
		},
		"jwks from-pem": func(r *flagResult) *cobra.Command {
			return NewCmdJWKSFromPEM(&Factory{}, func(o *JWKSFromPEMOptions) error {
				r.called, r.got = true, fmt.Sprintf("%s kid=%s alg=%s", o.Path, o.Kid, o.Alg)
				return nil
			})
		},
	}
	tests := []flagCase{
		{command: "status", args: nil, want: "all=false"},
		{command: "status", args: []string{"--all"}, want: "all=true"},
		{command: "logout", args: nil, want: "profile= keep=false"},
		{command: "logout", args: []string{"--profile", "p", "--keep-profile"}, want: "profile=p keep=true"},
		{command: "jwks from-pem", args: []string{"k.pem"}, want: "k.pem kid= alg=" + keys.DefaultRSAAlg},
		{command: "jwks from-pem", args: []string{"k.pem", "--kid", "key-2026", "--alg", "RS256"}, want: "k.pem kid=key-2026 alg=RS256"},
		{command: "jwks from-pem", args: []string{"missing.pem", "--alg", "ES256"}, wantErr: `--alg "ES256": organizations accept RS384 or RS256`},
	}
	runFlagCases(t, commands, tests)
}

// TestOptionsCarryTheirDependencies: every command that takes a runF fills
// each dependency of its options (streams, clock, HTTP client, store,
// client, logger: every exported pointer, func or interface field) from the
// Factory before runF, so that its run function needs nothing else.
func TestOptionsCarryTheirDependencies(t *testing.T) {
	f := &Factory{IO: &IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: io.Discard}, Now: time.Now,
		HTTPClient: &http.Client{}, Getenv: func(string) string { return "" }}
	var fields func(t *testing.T, v reflect.Value)
	fields = func(t *testing.T, v reflect.Value) {
		for i := 0; i < v.NumField(); i++ {
			fd := v.Type().Field(i)
			switch fd.Type.Kind() {
			case reflect.Pointer, reflect.Func, reflect.Interface:
				if fd.IsExported() && v.Field(i).IsNil() {
					t.Errorf("%s.%s is not filled", v.Type().Name(), fd.Name)
				}
			case reflect.Struct:
				if fd.Anonymous {
					fields(t, v.Field(i)) // DiagEnv
				}
			}
		}
	}
	check := func(t *testing.T, opts any) error {
		fields(t, reflect.ValueOf(opts).Elem())
		return nil
	}
	commands := []struct {
		name string
		cmd  func(runF func(any) error) *cobra.Command
		args []string
	}{
		{"activate", func(r func(any) error) *cobra.Command {
			return NewCmdActivate(f, func(o *ActivateOptions) error { return r(o) })
		}, []string{"--jku"}},
		{"orgs sync", func(r func(any) error) *cobra.Command {
			return NewCmdOrgsSync(f, func(o *SyncOptions) error { return r(o) })
		}, nil},
		{"orgs list", func(r func(any) error) *cobra.Command {
			return NewCmdOrgsList(f, func(o *ListOptions) error { return r(o) })
		}, nil},
		{"orgs show", func(r func(any) error) *cobra.Command {
			return NewCmdOrgsShow(f, func(o *OrgsShowOptions) error { return r(o) })
		}, []string{"1"}},
		{"status", func(r func(any) error) *cobra.Command {
			return NewCmdStatus(f, func(o *StatusOptions) error { return r(o) })
		}, nil},
		{"runs", func(r func(any) error) *cobra.Command {
			return NewCmdRuns(f, func(o *RunsOptions) error { return r(o) })
		}, nil},
		{"runs show", func(r func(any) error) *cobra.Command {
			return NewCmdRunsShow(f, func(o *RunsShowOptions) error { return r(o) })
		}, []string{"1"}},
		{"report", func(r func(any) error) *cobra.Command {
			return NewCmdReport(f, func(o *ReportOptions) error { return r(o) })
		}, []string{"--out", "-"}},
		{"brands", func(r func(any) error) *cobra.Command {
			return NewCmdBrands(f, func(o *BrandsOptions) error { return r(o) })
		}, nil},
		{"probe", func(r func(any) error) *cobra.Command {
			return NewCmdProbe(f, func(o *ProbeOptions) error { return r(o) })
		},
			[]string{"--probe-client-id", "a", "--probe-redirect-uri", "https://a/cb"}},
		{"doctor", func(r func(any) error) *cobra.Command {
			return NewCmdDoctor(f, func(o *DoctorOptions) error { return r(o) })
		}, nil},
		{"logout", func(r func(any) error) *cobra.Command {
			return NewCmdLogout(f, func(o *LogoutOptions) error { return r(o) })
		}, nil},
		{"jwks check", func(r func(any) error) *cobra.Command {
			return NewCmdJWKSCheck(f, func(o *JWKSCheckOptions) error { return r(o) })
		}, []string{"k.json"}},
		{"token", func(r func(any) error) *cobra.Command {
			return NewCmdToken(f, func(o *TokenOptions) error { return r(o) })
		},
			[]string{"--token-url", "https://o.example/token", "--client-id", "a", "--key", "k.pem"}},
		{"assertion new", func(r func(any) error) *cobra.Command {
			return NewCmdAssertionNew(f, func(o *AssertionNewOptions) error { return r(o) })
		}, []string{"--token-url", "https://o.example/token", "--client-id", "a", "--key", "k.pem"}},
		{"assertion check", func(r func(any) error) *cobra.Command {
			return NewCmdAssertionCheck(f, func(o *AssertionCheckOptions) error { return r(o) })
		}, []string{"eyJ.x.y", "--token-url", "https://o.example/token", "--client-id", "a"}},
		{"jwks from-pem", func(r func(any) error) *cobra.Command {
			return NewCmdJWKSFromPEM(f, func(o *JWKSFromPEMOptions) error { return r(o) })
		}, []string{"k.pem"}},
	}
	for _, c := range commands {
		t.Run(c.name, func(t *testing.T) {
			called := false
			cmd := c.cmd(func(o any) error { called = true; return check(t, o) })
			runFlags(t, cmd, c.args, &called, "")
		})
	}
}
