package report

import (
	"slices"
	"time"

	"github.com/activator-dev/activator/internal/brands"
	"github.com/activator-dev/activator/internal/portal"
	"github.com/activator-dev/activator/internal/store"
)

// SmartSurvey sums up the smart-configuration checks (`brands
// --smart-config`) of the activated organizations' FHIR servers: how many
// answered, and which do not list what the app's token requests need.
type SmartSurvey struct {
	// LastChecked is the newest check's time.
	LastChecked time.Time `json:"lastChecked"`
	// Activated counts the listed organizations with the app enabled (both
	// environments or non-production only); WithEndpoint of them have a
	// FHIR base URL in the Brands directory, Checked had at least one
	// asked, and Answered at least one answer with a smart-configuration.
	Activated    int `json:"activated"`
	WithEndpoint int `json:"withEndpoint"`
	Checked      int `json:"checked"`
	Answered     int `json:"answered"`
	// NoPrivateKeyJWT are the servers that answered without listing
	// private_key_jwt: the app's signed assertions are not accepted there.
	NoPrivateKeyJWT []SmartGap `json:"noPrivateKeyJwt"`
	// NoRS384 are the servers that answered without listing RS384, the
	// algorithm activator signs with by default (RS256 may still work:
	// SigningAlgs says).
	NoRS384 []SmartGap `json:"noRs384"`
}

// SmartGap is one activated organization's server missing something.
type SmartGap struct {
	OrgID       string    `json:"orgId"`
	Name        string    `json:"name"`
	Address     string    `json:"address"`
	AuthMethods []string  `json:"authMethods"`
	SigningAlgs []string  `json:"signingAlgs"`
	CheckedAt   time.Time `json:"checkedAt"`
}

// addSmart sums up the smart-configuration checks; Smart stays nil when no
// server was ever checked.
func (r *Report) addSmart(eps map[string][]store.Endpoint) {
	seen := false
	for _, list := range eps {
		seen = seen || slices.ContainsFunc(list, func(e store.Endpoint) bool { return e.Smart != nil })
	}
	if !seen {
		return
	}
	sv := &SmartSurvey{NoPrivateKeyJWT: []SmartGap{}, NoRS384: []SmartGap{}}
	for _, row := range r.Orgs {
		if !row.Listed || !portal.Status(row.Status).Activated() {
			continue
		}
		sv.Activated++
		list := eps[row.OrgID]
		if len(list) > 0 {
			sv.WithEndpoint++
		}
		checked, answered := false, false
		for _, e := range list {
			c := e.Smart
			if c == nil {
				continue
			}
			checked = true
			if c.CheckedAt.After(sv.LastChecked) {
				sv.LastChecked = c.CheckedAt
			}
			if !c.Answered || c.Error != "" {
				continue
			}
			answered = true
			gap := SmartGap{OrgID: row.OrgID, Name: row.Name, Address: e.Address, CheckedAt: c.CheckedAt,
				AuthMethods: nonNilList(c.AuthMethods), SigningAlgs: nonNilList(c.SigningAlgs)}
			if !brands.Lists(c.AuthMethods, brands.AuthPrivateKeyJWT) {
				sv.NoPrivateKeyJWT = append(sv.NoPrivateKeyJWT, gap)
			}
			if !brands.Lists(c.SigningAlgs, brands.AlgRS384) {
				sv.NoRS384 = append(sv.NoRS384, gap)
			}
		}
		if checked {
			sv.Checked++
		}
		if answered {
			sv.Answered++
		}
	}
	r.Smart = sv
}

func nonNilList(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
