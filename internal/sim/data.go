package sim

import (
	"math/rand/v2"
	"sort"
	"strconv"
	"time"
)

// Shape of the generated data, scaled to Config.Orgs; the ratios are those
// seen on a real ~500-organization account.
const (
	// DefaultOrgIDMax is the top of the OrgID range for up to 10,000
	// organizations (real OrgIds run from the hundreds to about 40,000);
	// larger portals spread over four times their size.
	DefaultOrgIDMax = 40_000
	// DefaultOrgIDMin is the smallest generated OrgID.
	DefaultOrgIDMin = 100
	// DefaultStragglerEvery: one organization in 125 refuses every
	// activation (4 of 500).
	DefaultStragglerEvery = 125
	// DefaultEnabledEvery: one in 10 arrives already enabled in both
	// environments.
	DefaultEnabledEvery = 10
	// DefaultNonProdEvery: one in 20 is enabled in non-production only.
	DefaultNonProdEvery = 20
	// DefaultDeclinedCount organizations carry an Approved value the
	// portal's notes do not explain.
	DefaultDeclinedCount = 2
	// DefaultOutboundBlockedPercent of organizations cannot fetch a JWK Set
	// URL; "a significant fraction" was all that was reported.
	DefaultOutboundBlockedPercent = 30
)

// syncEpoch anchors the generated arrival dates: the app's registration
// day, a few weeks before the activation runs described in the notes.
var syncEpoch = time.Date(2026, time.January, 12, 15, 0, 0, 0, time.UTC)

// generate fills the simulator with Config.Orgs deterministic
// organizations.
func (s *Sim) generate() {
	n := s.cfg.Orgs
	if n == 0 {
		return
	}
	r := rand.New(rand.NewPCG(uint64(s.cfg.Seed), 0xda7a))

	idMax := DefaultOrgIDMax
	if 4*n > idMax {
		idMax = 4 * n
	}
	ids := distinctInts(r, n, DefaultOrgIDMin, idMax, nil)
	ecmMax := idMax / 2
	if ecmMax < 2*n {
		ecmMax = 2 * n
	}
	used := make(map[int]bool, n)
	for _, id := range ids {
		used[id] = true
	}
	ecms := distinctInts(r, n, 1, ecmMax, used)
	names := newNamer(r)

	orgs := make([]*org, n)
	for i := range n {
		o := &org{num: ids[i]}
		o.OrgID = strconv.Itoa(ids[i])
		o.ECMId = strconv.Itoa(ecms[i])
		o.Name = names.next()
		o.AutoSync = true
		o.Arrived = syncEpoch.Add(time.Duration(r.IntN(72*60)) * time.Minute)
		o.OutboundBlocked = r.IntN(100) < DefaultOutboundBlockedPercent
		orgs[i] = o
	}

	stragglers := n / DefaultStragglerEvery
	if stragglers == 0 && n >= 10 {
		stragglers = 1
	}
	enabled := n / DefaultEnabledEvery
	nonProd := n / DefaultNonProdEvery
	declined := min(DefaultDeclinedCount, n/25)
	switch {
	case s.cfg.Declined > 0:
		declined = s.cfg.Declined
	case s.cfg.Declined < 0:
		declined = 0
	}
	perm := r.Perm(n)
	k := 0
	take := func(count int, f func(*org)) {
		for ; count > 0 && k < n; count-- {
			f(orgs[perm[k]])
			k++
		}
	}
	take(stragglers, func(o *org) { o.Straggler = true })
	take(enabled, func(o *org) {
		o.Approved = ApprovedBoth
		o.setEnv(true, ModeJWKSURL, "", o.Arrived, true)
		o.setEnv(false, ModeJWKSURL, "", o.Arrived, true)
	})
	take(nonProd, func(o *org) {
		o.Approved = ApprovedNonProd
		o.setEnv(true, ModeJWKSURL, "", o.Arrived, true)
	})
	take(declined, func(o *org) { o.Approved = ApprovedDeclined })

	sort.Slice(orgs, func(i, j int) bool { return orgs[i].num < orgs[j].num })
	s.order = orgs
	for _, o := range orgs {
		s.orgs[o.OrgID] = o
		s.ecmIDs[o.ECMId] = true
	}
	s.nextECM = ecmMax
}

// distinctInts draws n distinct integers in [lo, hi], none in skip. The
// range is always at least twice n plus len(skip), so rejection sampling
// ends quickly.
func distinctInts(r *rand.Rand, n, lo, hi int, skip map[int]bool) []int {
	if hi-lo+1 < 2*n+len(skip) {
		hi = lo + 2*n + len(skip)
	}
	seen := make(map[int]bool, n)
	out := make([]int, 0, n)
	for len(out) < n {
		v := lo + r.IntN(hi-lo+1)
		if seen[v] || skip[v] {
			continue
		}
		seen[v] = true
		out = append(out, v)
	}
	return out
}

// namer composes unique, realistic US health-system names.
type namer struct {
	r    *rand.Rand
	used map[string]bool
}

// newNamer returns a namer drawing from r.
func newNamer(r *rand.Rand) *namer {
	return &namer{r: r, used: make(map[string]bool)}
}

// DefaultNameTries is how many random names are drawn before a campus
// suffix is added to make one unique; the plain pool holds about 27,000
// names, so small portals almost never see a suffix.
const DefaultNameTries = 12

// next returns a name not returned before.
func (g *namer) next() string {
	for range DefaultNameTries {
		if n := g.candidate(); !g.used[n] {
			g.used[n] = true
			return n
		}
	}
	for i := 0; ; i++ {
		n := g.candidate() + " - " + pick(g.r, places) + " Campus"
		if i > DefaultNameTries {
			n += " " + strconv.Itoa(i)
		}
		if !g.used[n] {
			g.used[n] = true
			return n
		}
	}
}

// candidate composes one name, possibly already used.
func (g *namer) candidate() string {
	r := g.r
	switch k := r.IntN(20); {
	case k < 2:
		return pick(r, saintPatterns) + pick(r, saints) + pick(r, saintSuffixes)
	case k < 3:
		return pick(r, statePatterns[0:2]) + pick(r, states) + pick(r, stateSuffixes)
	case k < 4:
		return pick(r, states) + pick(r, statePatterns[2:])
	default:
		place := pick(r, places)
		if r.IntN(4) == 0 {
			place = pick(r, directions) + " " + place
		}
		return place + pick(r, placeSuffixes)
	}
}

// pick returns a random element of list.
func pick(r *rand.Rand, list []string) string { return list[r.IntN(len(list))] }

// Word lists for names. A few carry an apostrophe, an ampersand or an
// accented letter so clients prove they escape and encode names properly.
var (
	places = []string{
		"Adirondack", "Akron", "Albany", "Alameda", "Allegheny", "Amarillo", "Anchorage", "Appleton",
		"Asheville", "Aspen", "Athens", "Augusta", "Aurora", "Bakersfield", "Bayfront", "Baystate",
		"Beaumont", "Bellevue", "Billings", "Birmingham", "Bismarck", "Bloomington", "Blue Ridge", "Boise",
		"Boulder", "Bozeman", "Brandywine", "Bridgeport", "Brookhaven", "Burlington", "Canyon", "Cape Fear",
		"Carolina", "Cascade", "Cedar Rapids", "Centennial", "Champlain", "Charleston", "Chesapeake", "Cheyenne",
		"Chippewa", "Clearwater", "Coastal", "Columbia", "Concord", "Coral Springs", "Cumberland", "Cuyahoga",
		"Dayton", "Delta", "Des Moines", "Dubuque", "Duluth", "Eau Claire", "El Paso", "Elmhurst",
		"Española", "Evergreen", "Fairview", "Fargo", "Flagstaff", "Fox Valley", "Fresno", "Gateway",
		"Genesee", "Glacier", "Grand River", "Great Plains", "Green Bay", "Greenville", "Gulf Coast", "Harbor",
		"Hartford", "Heartland", "Hennepin", "High Desert", "Hillcrest", "Hudson Valley", "Huntsville", "Inland",
		"Iron Range", "Jefferson", "Kalamazoo", "Katahdin", "Kennebec", "Keystone", "Knoxville", "La Crosse",
		"Lakeland", "Lakeshore", "Lancaster", "Laredo", "Lehigh Valley", "Lexington", "Lincoln", "Lowcountry",
		"Madison", "Magnolia", "Marshfield", "Meadowbrook", "Mesa", "Miami Valley", "Mid-Michigan", "Midland",
		"Mohawk", "Monadnock", "Monterey", "Mountain View", "Muskegon", "Naples", "Nashua", "Northfield",
		"Oak Ridge", "Ocean", "Olympic", "Omaha", "Ozark", "Palmetto", "Parkview", "Peachtree",
		"Peninsula", "Piedmont", "Pine Bluff", "Pioneer", "Platte", "Pocono", "Prairie", "Presque Isle",
		"Providence", "Pueblo", "Red River", "Redwood", "Reno", "Ridgeview", "Rio Grande", "Riverside",
		"Roanoke", "Rochester", "Rock Creek", "Rogue Valley", "Saginaw", "Salem", "Sandhills", "Santa Fe",
		"Sarasota", "Savannah", "Seacoast", "Shenandoah", "Sierra", "Sioux Falls", "Skagit", "Snake River",
		"Sonoma", "Spokane", "Springfield", "Summit", "Sun Valley", "Susquehanna", "Tahoe", "Tallahassee",
		"Teton", "Three Rivers", "Tidewater", "Tri-County", "Tucson", "Tulsa", "Twin Cities", "Upstate",
		"Valley", "Wabash", "Wasatch", "Washtenaw", "Westbrook", "Whitman", "Willamette", "Yakima",
		"Cañon City", "Yellowstone",
	}
	directions    = []string{"North", "South", "East", "West", "Central", "Greater", "Upper", "Lower", "Northeast", "Southwest"}
	placeSuffixes = []string{
		" Health", " Health System", " Medical Center", " Regional Medical Center", " Clinic",
		" Memorial Hospital", " Community Hospital", " Healthcare", " Physicians Group",
		" Children's Hospital", " Hospital & Clinics", " Regional Health", " Family Medicine",
	}
	saints = []string{
		"Agnes", "Alexius", "Alphonsus", "Anne", "Anthony", "Bernard", "Catherine", "Charles",
		"Clare", "Croix", "David", "Dominic", "Elizabeth", "Francis", "Gabriel", "Helena",
		"James", "Joseph", "Jude", "Luke", "Margaret", "Mark", "Mary", "Michael",
		"Patrick", "Paul", "Peter", "Rita", "Rose", "Thomas", "Vincent", "Cloud",
	}
	saintPatterns = []string{"St. ", "Saint ", "St. "}
	saintSuffixes = []string{" Hospital", " Medical Center", " Health", " Regional Hospital", "'s Health System"}
	states        = []string{
		"Alabama", "Alaska", "Arizona", "Arkansas", "California", "Colorado", "Connecticut", "Delaware",
		"Florida", "Georgia", "Hawaii", "Idaho", "Illinois", "Indiana", "Iowa", "Kansas",
		"Kentucky", "Louisiana", "Maine", "Maryland", "Massachusetts", "Michigan", "Minnesota", "Mississippi",
		"Missouri", "Montana", "Nebraska", "Nevada", "New Hampshire", "New Jersey", "New Mexico", "New York",
		"North Carolina", "North Dakota", "Ohio", "Oklahoma", "Oregon", "Pennsylvania", "Rhode Island", "South Carolina",
		"South Dakota", "Tennessee", "Texas", "Utah", "Vermont", "Virginia", "Washington", "West Virginia",
		"Wisconsin", "Wyoming",
	}
	statePatterns = []string{"University of ", "University of ", " University Medical Center", " Health Sciences"}
	stateSuffixes = []string{" Health", " Hospitals", " Medical Center"}
)
