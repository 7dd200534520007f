package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/activator-dev/activator/internal/cli"
	"github.com/activator-dev/activator/internal/sim"
	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain lets the test binary stand in for the activator binary: scripts
// run `exec activator ...` as a real subprocess. Each run leaves its exit
// code in $WORK/exitcode for the `exitcode` command (testscript's exec only
// tells zero from non-zero).
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"activator": func() {
			code := cli.Main()
			if work := os.Getenv("WORK"); work != "" {
				_ = os.WriteFile(filepath.Join(work, "exitcode"), []byte(strconv.Itoa(code)+"\n"), 0o600)
			}
			os.Exit(code)
		},
	})
}

// cmdExitcode asserts the exit code of the last activator run:
//
//	exitcode N
func cmdExitcode(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: exitcode N")
	}
	path := filepath.Join(ts.Getenv("WORK"), "exitcode")
	b, err := os.ReadFile(path)
	if err != nil {
		ts.Fatalf("no exit code recorded: the last activator run did not return through cli.Main")
	}
	// Read once: a run that dies without recording cannot pass as the last.
	ts.Check(os.Remove(path))
	got := strings.TrimSpace(string(b))
	if got != args[0] {
		ts.Fatalf("activator exited %s, want %s", got, args[0])
	}
}

// cmdWaitfile blocks until FILE exists and holds a match of REGEXP (30 s
// at most): a background command whose stderr goes to FILE has said it,
// however long a busy machine took. Two signals sent one after the other
// reach a process as two only once it has taken the first:
//
//	waitfile FILE REGEXP
func cmdWaitfile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: waitfile FILE REGEXP")
	}
	re, err := regexp.Compile(args[1])
	ts.Check(err)
	path := ts.MkAbs(args[0])
	deadline := time.Now().Add(30 * time.Second)
	for {
		if b, err := os.ReadFile(path); err == nil && re.Match(b) {
			return
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(path)
			ts.Fatalf("waited 30s for %s to match %q; it holds:\n%s", args[0], args[1], b)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// DefaultScriptOrgs keeps scripts quick: 40 organizations exercise every
// status the simulator generates (its 500 are for the demo and benchmarks).
const DefaultScriptOrgs = 40

// simServer is one script's simulator; `sim start` swaps in a new one
// behind the same address.
type simServer struct {
	cur    atomic.Pointer[sim.Sim]
	tokens atomic.Pointer[sim.TokenEndpoints] // cur's token endpoints
	srv    *httptest.Server
}

func (s *simServer) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.cur.Load().ServeHTTP(w, r) }

// TestScripts runs the end-to-end scripts in testdata/script against an
// in-process simulator.
func TestScripts(t *testing.T) {
	keysDir, err := filepath.Abs("../../testdata/keys")
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir:                 "../../testdata/script",
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			ss := &simServer{}
			first, tokens := newScriptSim(sim.Config{Orgs: DefaultScriptOrgs, Seed: 1}, env.Setenv)
			ss.cur.Store(first)
			ss.tokens.Store(tokens)
			ss.srv = httptest.NewServer(ss)
			env.Defer(ss.srv.Close)
			env.Values["sim"] = ss
			env.Setenv("PORTAL", ss.srv.URL)
			env.Setenv("PORTAL_HOSTPORT", strings.TrimPrefix(ss.srv.URL, "http://"))
			env.Setenv("ACTIVATOR_PORTAL", ss.srv.URL)
			env.Setenv("ACTIVATOR_APP", sim.DefaultAppID)
			env.Setenv("ACTIVATOR_STATE", filepath.Join(env.WorkDir, "state", "state.db"))
			env.Setenv("XDG_STATE_HOME", filepath.Join(env.WorkDir, "xdg-state"))
			env.Setenv("XDG_CONFIG_HOME", filepath.Join(env.WorkDir, "xdg-config"))
			env.Setenv("HOME", env.WorkDir)
			env.Setenv("KEYS", keysDir)
			// $KEYS_URL serves the same key files over HTTP, as an app's
			// JWK Set URL would.
			keySrv := httptest.NewServer(http.FileServer(http.Dir(keysDir)))
			env.Defer(keySrv.Close)
			env.Setenv("KEYS_URL", keySrv.URL)
			env.Setenv("KEYS_HOST", strings.TrimPrefix(keySrv.URL, "http://"))
			env.Setenv("NO_COLOR", "1")
			env.Setenv("ACTIVATOR_COOKIE", ss.cur.Load().NewSession())
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"sim":      cmdSim,
			"exitcode": cmdExitcode,
			"waitfile": cmdWaitfile,
		},
	})
}

// newScriptSim is a simulator with the public directory and the
// organizations' token endpoints (key changes effective at once), with
// $TOKEN_CLIENT_ID and $TOKEN_CLIENT_ID_PROD set for scripts, and
// $SMART_NO_RS384_ORG and $SMART_UNSUPPORTED_ORG naming the organizations
// whose servers do not list RS384, and neither private_key_jwt nor an RS
// algorithm.
func newScriptSim(cfg sim.Config, setenv func(k, v string)) (*sim.Sim, *sim.TokenEndpoints) {
	s := sim.New(cfg)
	roles := s.ServeBrands(sim.BrandsConfig{}).Roles()
	setenv("SMART_NO_RS384_ORG", roles.NoRS384)
	setenv("SMART_UNSUPPORTED_ORG", roles.Unsupported)
	tokens := s.ServeTokens(sim.TokenConfig{Instant: true})
	setenv("TOKEN_CLIENT_ID", tokens.ClientID(sim.EnvNonProd))
	setenv("TOKEN_CLIENT_ID_PROD", tokens.ClientID(sim.EnvProd))
	authorizers.Store(s, s.ServeAuthorize(sim.AuthorizeConfig{Instant: true, SlowDelay: 10 * time.Second}))
	setenv("REDIRECT_URI", sim.DefaultRedirectURI)
	return s, tokens
}

// authorizers holds each script simulator's authorize endpoints (keys
// known at once unless `sim propagation` says otherwise).
var authorizers sync.Map // *sim.Sim -> *sim.Authorize

// cmdSim drives and inspects the simulator from a script:
//
//	sim start [orgs=N] [seed=N] [pagesizemax=N] [antiforgerycookie=true] [secondfactor=CODE]
//	          [declined=N] [rename=OLD:NEW] [idwithoutapp=true] [tokeninmeta=true]
//	                              a new simulator (and session) at the same address
//	sim session                   a fresh session in $ACTIVATOR_COOKIE
//	sim expire                    every session lapses
//	sim tokens compliant=BOOL     token endpoints answer as a SMART reference server (error_description) or as Epic (bare)
//	sim tokens propagation=DUR    key changes take DUR to reach the token endpoints (both environments)
//	sim faults k=v ...            latency=DUR jitter=DUR ratelimit=R burst=N errors=P lapse=N lapsehtml=true retryafter=DUR
//	sim add ORG STATUS NAME...    an organization arrives
//	sim addq ORG STATUS "NAME"    the same, the name a Go-quoted string ("\x1b[2J\n=1+1")
//	sim addbig ORG BYTES          an organization whose name is BYTES long
//	sim straggler ORG NAME...     an organization that always refuses arrives
//	sim rename ORG NAME...        same OrgId, new name
//	sim remove ORG                no longer listed
//	sim status ORG N              set Approved
//	sim calls PATH N              exactly N calls to PATH since the last reset
//	sim reset                     forget the calls so far
//	sim approved ORG N            assert an org's Approved value
//	sim stored ORG                print the org's stored non-production JWKS
//	sim stragglers                print the straggler OrgIds
//	sim orgs STATUS N             exactly N orgs have Approved STATUS
//	sim form PATH FIELD...        print FIELD=value of every recorded call to PATH
//	sim waitcalls PATH N          wait until N calls to PATH were received
//	sim hold before|after|release hold every ApproveDownload before or after it
//	                              changes the org, until the client goes away
//	sim waitheld N                wait until exactly N ApproveDownload calls are held
//	sim dupes N                   at most N orgs were activated successfully more than once
//	sim authorize ORG VARIANT     the org's authorization server: normal, late, failing, slow, identity or never
//	sim propagation ORG DUR       the org knows the app's client id DUR after production changed
func cmdSim(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) == 0 {
		ts.Fatalf("usage: sim command [args]")
	}
	ss := ts.Value("sim").(*simServer)
	s := ss.cur.Load()
	atoi := func(v string) int {
		n, err := strconv.Atoi(v)
		ts.Check(err)
		return n
	}
	check := func(ok bool, format string, a ...any) {
		if ok == neg {
			if neg {
				ts.Fatalf("unexpectedly: "+format, a...)
			}
			ts.Fatalf(format, a...)
		}
	}
	switch args[0] {
	case "start":
		cfg := sim.Config{Orgs: DefaultScriptOrgs, Seed: 1}
		for _, kv := range args[1:] {
			k, v, _ := strings.Cut(kv, "=")
			switch k {
			case "orgs":
				cfg.Orgs = atoi(v)
			case "seed":
				cfg.Seed = int64(atoi(v))
			case "pagesizemax":
				cfg.PageSizeMax = atoi(v)
			case "antiforgerycookie":
				cfg.RequireAntiForgeryCookie = v == "true"
			case "secondfactor":
				cfg.SecondFactor = v
			case "declined":
				cfg.Declined = atoi(v)
			case "rename":
				from, to, _ := strings.Cut(v, ":")
				cfg.RenameFields = map[string]string{from: to}
			case "idwithoutapp":
				cfg.IDWithoutApp = v == "true"
			case "tokeninmeta":
				cfg.TokenInMeta = v == "true"
			default:
				ts.Fatalf("sim start: unknown %s", k)
			}
		}
		ns, tokens := newScriptSim(cfg, ts.Setenv)
		ss.cur.Store(ns)
		ss.tokens.Store(tokens)
		ts.Setenv("ACTIVATOR_COOKIE", ns.NewSession())
	case "session":
		ts.Setenv("ACTIVATOR_COOKIE", s.NewSession())
	case "expire":
		s.ExpireSessions()
	case "tokens":
		for _, kv := range args[1:] {
			k, v, _ := strings.Cut(kv, "=")
			switch k {
			case "compliant":
				ss.tokens.Load().SetCompliant(v == "true")
			case "propagation":
				d, err := time.ParseDuration(v)
				ts.Check(err)
				ss.tokens.Load().SetPropagation(d, d)
			default:
				ts.Fatalf("sim tokens: unknown %s", k)
			}
		}
	case "faults":
		f := s.Faults()
		for _, kv := range args[1:] {
			k, v, _ := strings.Cut(kv, "=")
			switch k {
			case "latency":
				d, err := time.ParseDuration(v)
				ts.Check(err)
				f.Latency = d
			case "ratelimit":
				r, err := strconv.ParseFloat(v, 64)
				ts.Check(err)
				f.RateLimit = r
			case "burst":
				f.RateBurst = atoi(v)
			case "errors":
				p, err := strconv.ParseFloat(v, 64)
				ts.Check(err)
				f.ErrorRate = p
			case "lapse":
				f.SessionRequests = atoi(v)
			case "lapsehtml":
				f.LapseAsHTML = v == "true"
			case "retryafter":
				d, err := time.ParseDuration(v)
				ts.Check(err)
				f.RetryAfter = d
			case "jitter":
				d, err := time.ParseDuration(v)
				ts.Check(err)
				f.Jitter = d
			default:
				ts.Fatalf("sim faults: unknown %s", k)
			}
		}
		s.SetFaults(f)
	case "add":
		if len(args) < 4 {
			ts.Fatalf("usage: sim add ORG STATUS NAME...")
		}
		s.AddOrg(sim.Org{OrgID: args[1], Approved: atoi(args[2]), Name: strings.Join(args[3:], " ")})
	case "addq":
		if len(args) != 4 {
			ts.Fatalf(`usage: sim addq ORG STATUS "NAME"`)
		}
		name, err := strconv.Unquote(args[3])
		ts.Check(err)
		s.AddOrg(sim.Org{OrgID: args[1], Approved: atoi(args[2]), Name: name})
	case "addbig":
		s.AddOrg(sim.Org{OrgID: args[1], Name: strings.Repeat("N", atoi(args[2]))})
	case "straggler":
		// An organization that refuses every activation arrives.
		s.AddOrg(sim.Org{OrgID: args[1], Name: strings.Join(args[2:], " "), Straggler: true})
	case "rename":
		s.RenameOrg(args[1], strings.Join(args[2:], " "))
	case "remove":
		s.RemoveOrg(args[1])
	case "status":
		s.SetApproved(args[1], atoi(args[2]))
	case "reset":
		s.ResetCalls()
	case "calls":
		n := countCalls(s, args[1])
		check(n == atoi(args[2]), "%d calls to %s, want %s", n, args[1], args[2])
	case "approved":
		o, ok := s.Org(args[1])
		if !ok {
			ts.Fatalf("no org %s", args[1])
		}
		check(o.Approved == atoi(args[2]), "org %s Approved = %d, want %s", args[1], o.Approved, args[2])
	case "orgs":
		n := 0
		for _, o := range s.Orgs() {
			if o.Approved == atoi(args[1]) {
				n++
			}
		}
		check(n == atoi(args[2]), "%d orgs with Approved %s, want %s", n, args[1], args[2])
	case "stored":
		o, ok := s.Org(args[1])
		if !ok {
			ts.Fatalf("no org %s", args[1])
		}
		fmt.Fprintln(ts.Stdout(), o.TestJWKS)
	case "stragglers":
		fmt.Fprintln(ts.Stdout(), strings.Join(s.Stragglers(), " "))
	case "dupes":
		// At most N organizations were activated successfully more than once.
		seen := map[string]int{}
		for _, c := range s.Calls() {
			if c.Path == "/Developer/ApproveDownload" && c.Answer == sim.AnswerOK {
				seen[c.Form.Get("OrgId")+"/"+c.Form.Get("NonProdOnly")+c.Form.Get("ProdOnly")]++
			}
		}
		d := 0
		for _, n := range seen {
			if n > 1 {
				d++
			}
		}
		check(d <= atoi(args[1]), "%d organizations activated more than once, want at most %s", d, args[1])
	case "authorize":
		a, _ := authorizers.Load(s)
		v := args[2]
		if v == "normal" {
			v = sim.AuthorizeNormal
		}
		if !slices.Contains(sim.AuthorizeVariants, v) {
			ts.Fatalf("sim authorize: unknown variant %q", args[2])
		}
		a.(*sim.Authorize).SetVariant(args[1], v)
	case "propagation":
		a, _ := authorizers.Load(s)
		d, err := time.ParseDuration(args[2])
		ts.Check(err)
		a.(*sim.Authorize).SetDelay(args[1], d)
	case "hold":
		mode := args[1]
		if mode == "release" {
			mode = sim.HoldNone
		}
		ts.Check(s.HoldApprovals(mode))
	case "waitheld":
		deadline := time.Now().Add(30 * time.Second)
		for s.Held() != atoi(args[1]) {
			if time.Now().After(deadline) {
				ts.Fatalf("waited 30s for %s held calls, saw %d", args[1], s.Held())
			}
			time.Sleep(5 * time.Millisecond)
		}
	case "waitcalls":
		// Block until at least N calls to PATH were received (30 s at most).
		deadline := time.Now().Add(30 * time.Second)
		for {
			n := countCalls(s, args[1])
			if n >= atoi(args[2]) {
				break
			}
			if time.Now().After(deadline) {
				ts.Fatalf("waited 30s for %s calls to %s, saw %d", args[2], args[1], n)
			}
			time.Sleep(5 * time.Millisecond)
		}
	case "form":
		for _, c := range s.Calls() {
			if c.Path != args[1] {
				continue
			}
			fields := args[2:]
			if len(fields) == 1 && fields[0] == "all" {
				fields = approveFields
				for name := range c.Form {
					if !slices.Contains(approveFields, name) {
						ts.Fatalf("call sent an extra field %q", name)
					}
				}
			}
			var parts []string
			for _, field := range fields {
				parts = append(parts, field+"="+formValue(c.Form, field))
			}
			fmt.Fprintln(ts.Stdout(), strings.Join(parts, " "))
		}
	default:
		ts.Fatalf("sim: unknown command %q", args[0])
	}
}

// approveFields are the 13 fields of ApproveDownload, in docs/portal.md's order.
var approveFields = []string{"OrgId", "AppId", "Testhash", "Testhash256", "Prodhash", "Prodhash256", "NonProdOnly", "ProdOnly",
	"FhirIdGenerationScheme", "OverrideNonProdClientId", "OverrideProdClientId", "TestJWKS", "ProdJWKS"}

// formValue shows one form field on a line: <absent> when not sent, and a
// key set as jwks[kid,...] (or <not-a-jwks>) so scripts can say which keys
// went to which environment.
func formValue(form url.Values, field string) string {
	vs, ok := form[field]
	if !ok {
		return "<absent>"
	}
	v := vs[0]
	if v == "" || (field != "TestJWKS" && field != "ProdJWKS") {
		return v
	}
	var set struct {
		Keys []struct {
			Kid string `json:"kid"`
		} `json:"keys"`
	}
	if err := json.Unmarshal([]byte(v), &set); err != nil || len(set.Keys) == 0 {
		return "<not-a-jwks>"
	}
	var kids []string
	for _, k := range set.Keys {
		kids = append(kids, k.Kid)
	}
	return "jwks[" + strings.Join(kids, ",") + "]"
}

// countCalls counts the requests the simulator received for path.
func countCalls(s *sim.Sim, path string) int {
	n := 0
	for _, c := range s.Calls() {
		if c.Path == path {
			n++
		}
	}
	return n
}
