// Package brands reads Epic's public Brands bundle and joins it with the
// organizations of the management page.
//
// The bundle (https://open.epic.com/Endpoints/Brands, about 85 MB) is a
// FHIR R4 Bundle of Organization and Endpoint resources. It names the
// management page's two identifiers in two different places:
//
//   - the OrgId only as Endpoint.managingOrganization.identifier with system
//     OrgIDSystem (a logical reference: no Organization resource carries it);
//     the Endpoint's address is the organization's FHIR base URL. The
//     managing organization's own name is managingOrganization.display
//     (Epic: "the name of the organization with which client secrets/keys
//     are registered"); Endpoint.name is a patient-facing brand name, and
//     one OrgId often has many endpoints with many names (its affiliates');
//   - the ECMId as the brand-identifier of parent Organization resources; a
//     value "N-M" is a sub-organization of brand N, and location
//     Organizations point at their brand with partOf.
//
// Parse streams the bundle entry by entry, so memory stays flat whatever
// the file size: only the parent brands, the endpoints and per-reference
// counters are kept.
package brands

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/activator-dev/activator/internal/portal"
)

// OrgIDSystem is the identifier system of the management OrgId on
// Endpoint.managingOrganization.
const OrgIDSystem = "https://fhir.epic.com/Developer/Management/OrganizationId"

// BrandIdentifierSuffix ends the identifier system of a brand-identifier
// (Epic uses https://open.epic.com/brand-identifier); matching the suffix
// keeps working if the host part changes.
const BrandIdentifierSuffix = "brand-identifier"

// DefaultBundleURL is where Epic publishes the Brands bundle.
const DefaultBundleURL = "https://open.epic.com/Endpoints/Brands"

// defaultReadBuffer is the read-ahead of the streaming decoder: large
// enough to keep system calls rare on an 85 MB file, small against it.
const defaultReadBuffer = 256 << 10

// Directory is what a Brands bundle says about the organizations: their
// FHIR endpoints by OrgId and the parent brands by ECMId.
type Directory struct {
	// Date is the bundle's own date (Bundle.timestamp, else
	// meta.lastUpdated); zero when it gives none.
	Date time.Time
	// Endpoints that name a management OrgId, one per OrgId and address,
	// in bundle order; several Endpoint resources on one address are one
	// Endpoint with all their names.
	Endpoints []Endpoint
	// Brands are the parent Organizations (numeric brand-identifier),
	// ordered by ECMId.
	Brands []Brand
	Stats  Stats
}

// Endpoint is a FHIR base URL for one management OrgId.
type Endpoint struct {
	OrgID string
	// Name is the first Endpoint.name on the address; Names all of them,
	// without repeats, in bundle order.
	Name  string
	Names []string
	// Display is managingOrganization.display: the name of the
	// organization the keys are registered with (the first one given on
	// the address).
	Display string
	Address string
	// ECMId is the parent brand whose Organization lists this Endpoint,
	// empty when none does.
	ECMId string
}

// Brand is a parent Organization of the bundle.
type Brand struct {
	ECMId   string
	Name    string
	SubOrgs int // "N-M" sub-organizations plus partOf children
}

// Stats counts what the bundle held, so a report can say how much of it
// could be joined and how much could not.
type Stats struct {
	Entries       int
	Organizations int
	Endpoints     int // Endpoint resources, joined or not
	// Unjoined are Endpoint resources that name no management OrgId.
	Unjoined int
	// NoAddress are Endpoint resources with an OrgId but no address.
	NoAddress int
	// Other counts resources of any other type.
	Other int
	// Irregular counts entries with a value of an unexpected JSON type
	// (a string where FHIR has an array, ...); what could be read of them
	// was used.
	Irregular int
}

// Raw shapes of the few members the join needs; everything else in an
// entry is skipped by the decoder.
type (
	rawEntry struct {
		FullURL  string       `json:"fullUrl"`
		Resource *rawResource `json:"resource"`
	}
	rawResource struct {
		ResourceType string          `json:"resourceType"`
		ID           string          `json:"id"`
		Name         string          `json:"name"`
		Address      addressField    `json:"address"` // a string on Endpoint, an array on Organization
		Identifier   []rawIdentifier `json:"identifier"`
		PartOf       *rawReference   `json:"partOf"`
		Endpoint     []rawReference  `json:"endpoint"`
		Managing     *rawReference   `json:"managingOrganization"`
		Contained    []rawResource   `json:"contained"`
	}
	rawReference struct {
		Reference  string          `json:"reference"`
		Identifier json.RawMessage `json:"identifier"` // one Identifier; an array is tolerated
		Display    string          `json:"display"`
	}
	rawIdentifier struct {
		System string `json:"system"`
		Value  string `json:"value"`
	}
)

// addressField is Endpoint.address (a string) or Organization.address
// (an array of Address, never needed): only a string is kept, so the
// 90,000 location addresses cost no copy.
type addressField struct {
	s         string
	notString bool // a value that is neither a string nor null
}

// UnmarshalJSON keeps a string and notes anything else.
func (a *addressField) UnmarshalJSON(b []byte) error {
	switch {
	case len(b) > 0 && b[0] == '"':
		return json.Unmarshal(b, &a.s)
	case string(b) != "null":
		a.notString = true
	}
	return nil
}

// pendingEndpoint is an Endpoint resource seen in the stream, joined once
// every Organization has been read.
type pendingEndpoint struct {
	keys    []string // references that point at it
	name    string
	display string // managingOrganization.display
	address string
	orgIDs  []string
	orgRef  string // managingOrganization.reference to resolve, when no identifier
}

// parser holds the state of one streaming pass.
type parser struct {
	dir       Directory
	brands    map[string]*Brand // by ECMId
	brandRefs map[string]string // reference key of a parent -> ECMId
	subRefs   map[string]string // reference key of an "N-M" sub-organization -> N
	subs      map[string]int    // ECMId -> "N-M" sub-organizations
	partOf    map[string]int    // partOf reference key -> children without a brand-identifier
	epBrand   map[string]string // reference key of an Endpoint -> ECMId of the parent listing it
	orgIDRefs map[string][]string
	endpoints []pendingEndpoint
}

// Parse reads a Brands bundle from r. Any JSON or shape error is an
// *InputError; read errors of r are returned wrapped, unchanged in kind.
func Parse(r io.Reader) (*Directory, error) {
	br := bufio.NewReaderSize(r, defaultReadBuffer)
	if err := sniff(br); err != nil {
		return nil, err
	}
	p := &parser{
		brands:    make(map[string]*Brand),
		brandRefs: make(map[string]string),
		subRefs:   make(map[string]string),
		subs:      make(map[string]int),
		partOf:    make(map[string]int),
		epBrand:   make(map[string]string),
		orgIDRefs: make(map[string][]string),
	}
	dec := json.NewDecoder(br)
	if err := p.bundle(dec); err != nil {
		return nil, decodeError(dec, err)
	}
	p.finish()
	return &p.dir, nil
}

// sniff refuses, before any decoding, what is plainly not a JSON object:
// an empty answer, an HTML page, a JSON array.
func sniff(br *bufio.Reader) error {
	for {
		b, err := br.Peek(1)
		if err == io.EOF {
			return &InputError{Msg: "the bundle is empty: download it again from " + DefaultBundleURL}
		}
		if err != nil {
			return fmt.Errorf("read bundle: %w", err)
		}
		switch c := b[0]; {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			br.ReadByte()
			continue
		case c == 0xEF: // a UTF-8 byte order mark
			if bom, _ := br.Peek(3); bytes.Equal(bom, []byte{0xEF, 0xBB, 0xBF}) {
				br.Discard(3)
				continue
			}
		case c == '<':
			return &InputError{Msg: "the bundle is an HTML page, not JSON (a sign-in or error page?): use the bundle's own address, e.g. " + DefaultBundleURL}
		case c == '[':
			return &InputError{Msg: "the bundle is a JSON array, not a FHIR Bundle object: use Epic's Brands bundle, e.g. " + DefaultBundleURL}
		case c == '{':
			return nil
		}
		return &InputError{Msg: "the bundle is not JSON: use Epic's Brands bundle (a FHIR Bundle), e.g. " + DefaultBundleURL}
	}
}

// decodeError turns a decoder failure into an InputError naming where the
// JSON broke, and leaves read errors of the source as they are.
func decodeError(dec *json.Decoder, err error) error {
	var ie *InputError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &ie):
		return err
	case err == io.ErrUnexpectedEOF || err == io.EOF:
		// The decoder's own end-of-input errors, never wrapped; a reader
		// that fails with a wrapped one (a broken download) is a read
		// error below.
		return &InputError{Msg: fmt.Sprintf("the bundle ends early, after %d bytes: the file is truncated or the download was cut short; fetch it again", dec.InputOffset())}
	case errors.As(err, &se):
		return &InputError{Msg: fmt.Sprintf("the bundle is not valid JSON at byte %d (%v): fetch it again", se.Offset, se)}
	}
	return fmt.Errorf("read bundle: %w", err)
}

// bundle walks the top-level object token by token.
func (p *parser) bundle(dec *json.Decoder) error {
	if err := expectDelim(dec, '{'); err != nil {
		return err
	}
	var resourceType, timestamp, lastUpdated string
	for dec.More() {
		key, err := objectKey(dec)
		if err != nil {
			return err
		}
		switch key {
		case "resourceType":
			if err := dec.Decode(&resourceType); err != nil {
				return shapeError(err, "resourceType is not a string: not a FHIR Bundle")
			}
			if resourceType != "Bundle" {
				return notBundle(resourceType)
			}
		case "timestamp":
			if err := dec.Decode(&timestamp); err != nil {
				return shapeError(err, "Bundle.timestamp is not a string")
			}
		case "meta":
			var meta struct {
				LastUpdated string `json:"lastUpdated"`
			}
			if err := dec.Decode(&meta); err != nil {
				return shapeError(err, "Bundle.meta is not an object")
			}
			lastUpdated = meta.LastUpdated
		case "entry":
			if err := p.entries(dec); err != nil {
				return err
			}
		default:
			if err := skipValue(dec); err != nil {
				return err
			}
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		if err == nil {
			return &InputError{Msg: fmt.Sprintf("the bundle has more data after its closing brace (byte %d): fetch it again", dec.InputOffset())}
		}
		return err
	}
	if resourceType == "" {
		return &InputError{Msg: "the document has no resourceType: it is not a FHIR Bundle; use Epic's Brands bundle, e.g. " + DefaultBundleURL}
	}
	p.dir.Date = parseDate(timestamp)
	if p.dir.Date.IsZero() {
		p.dir.Date = parseDate(lastUpdated)
	}
	return nil
}

func notBundle(resourceType string) error {
	return &InputError{Msg: fmt.Sprintf("the document is a FHIR %s, not a Bundle: use Epic's Brands bundle, e.g. %s", resourceType, DefaultBundleURL)}
}

// shapeError reports a top-level member of the wrong JSON type; syntax
// and read errors pass through.
func shapeError(err error, msg string) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return &InputError{Msg: "the bundle's " + msg + ": use Epic's Brands bundle, e.g. " + DefaultBundleURL}
	}
	return err
}

// entries decodes Bundle.entry one element at a time.
func (p *parser) entries(dec *json.Decoder) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok == nil {
		return nil // "entry": null
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return &InputError{Msg: "the bundle's entry member is not an array: not a FHIR Bundle; use Epic's Brands bundle, e.g. " + DefaultBundleURL}
	}
	for dec.More() {
		var e rawEntry
		if err := dec.Decode(&e); err != nil {
			var te *json.UnmarshalTypeError
			if !errors.As(err, &te) {
				return err
			}
			// The decoder skipped the odd value and kept its place:
			// use what it could read.
			p.dir.Stats.Irregular++
		}
		p.dir.Stats.Entries++
		if e.Resource != nil {
			p.resource(e.FullURL, e.Resource)
		}
	}
	return expectDelim(dec, ']')
}

// resource takes what the join needs from one resource.
func (p *parser) resource(fullURL string, r *rawResource) {
	switch r.ResourceType {
	case "Organization":
		p.dir.Stats.Organizations++
		p.organization(fullURL, r)
	case "Endpoint":
		p.dir.Stats.Endpoints++
		p.endpoint(fullURL, r)
	default:
		p.dir.Stats.Other++
	}
}

func (p *parser) organization(fullURL string, r *rawResource) {
	var brandID string
	var orgIDs []string
	for _, id := range r.Identifier {
		sys, val := strings.TrimSpace(id.System), strings.TrimSpace(id.Value)
		switch {
		case sys == OrgIDSystem && val != "":
			orgIDs = append(orgIDs, val)
		case brandID == "" && val != "" && strings.HasSuffix(strings.ToLower(sys), BrandIdentifierSuffix):
			brandID = val
		}
	}
	keys := refKeys(fullURL, "Organization", r.ID)
	if len(orgIDs) > 0 {
		// Not how Epic publishes the OrgId, but a literal reference from
		// an Endpoint to such an Organization is honoured.
		for _, k := range keys {
			p.orgIDRefs[k] = orgIDs
		}
	}
	parent, sub, ok := splitBrandID(brandID)
	switch {
	case ok && sub == "":
		b := p.brands[parent]
		if b == nil {
			b = &Brand{ECMId: parent, Name: strings.TrimSpace(r.Name)}
			p.brands[parent] = b
		}
		for _, k := range keys {
			p.brandRefs[k] = parent
		}
		for _, ref := range r.Endpoint {
			if k := normRef(ref.Reference); k != "" {
				if _, seen := p.epBrand[k]; !seen {
					p.epBrand[k] = parent
				}
			}
		}
	case ok:
		p.subs[parent]++
		for _, k := range keys {
			p.subRefs[k] = parent
		}
	case r.PartOf != nil:
		if k := normRef(r.PartOf.Reference); k != "" {
			p.partOf[k]++
		}
	}
}

func (p *parser) endpoint(fullURL string, r *rawResource) {
	if r.Address.notString {
		p.dir.Stats.Irregular++
	}
	pe := pendingEndpoint{
		keys:    refKeys(fullURL, "Endpoint", r.ID),
		name:    strings.TrimSpace(r.Name),
		address: strings.TrimSpace(r.Address.s),
	}
	if m := r.Managing; m != nil {
		pe.display = strings.TrimSpace(m.Display)
		pe.orgIDs = orgIDsOf(m.Identifier)
		if len(pe.orgIDs) == 0 && m.Reference != "" {
			if id, ok := strings.CutPrefix(m.Reference, "#"); ok {
				// A contained Organization carries the identifier.
				for _, c := range r.Contained {
					if c.ID == id {
						pe.orgIDs = identifierValues(c.Identifier, OrgIDSystem)
					}
				}
			} else {
				pe.orgRef = normRef(m.Reference)
			}
		}
	}
	p.endpoints = append(p.endpoints, pe)
}

// orgIDsOf reads OrgIds from a reference's identifier: one Identifier
// object, as FHIR has it, or an array of them.
func orgIDsOf(raw json.RawMessage) []string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] == 'n' {
		return nil
	}
	var ids []rawIdentifier
	if raw[0] == '[' {
		if json.Unmarshal(raw, &ids) != nil {
			return nil
		}
	} else {
		var one rawIdentifier
		if json.Unmarshal(raw, &one) != nil {
			return nil
		}
		ids = []rawIdentifier{one}
	}
	return identifierValues(ids, OrgIDSystem)
}

func identifierValues(ids []rawIdentifier, system string) []string {
	var out []string
	for _, id := range ids {
		if strings.TrimSpace(id.System) == system {
			if v := strings.TrimSpace(id.Value); v != "" {
				out = append(out, v)
			}
		}
	}
	return out
}

// finish resolves the references that could point anywhere in the stream
// and fills the Directory.
func (p *parser) finish() {
	for ref, n := range p.partOf {
		if parent, ok := p.brandRefs[ref]; ok {
			p.brands[parent].SubOrgs += n
		} else if parent, ok := p.subRefs[ref]; ok && p.brands[parent] != nil {
			p.brands[parent].SubOrgs += n
		}
	}
	for parent, n := range p.subs {
		if b := p.brands[parent]; b != nil {
			b.SubOrgs += n
		}
	}
	type key struct{ org, addr string }
	at := make(map[key]int) // index in p.dir.Endpoints
	for _, pe := range p.endpoints {
		ids := pe.orgIDs
		if len(ids) == 0 && pe.orgRef != "" {
			ids = p.orgIDRefs[pe.orgRef]
		}
		if len(ids) == 0 {
			p.dir.Stats.Unjoined++
			continue
		}
		if pe.address == "" {
			p.dir.Stats.NoAddress++
			continue
		}
		var ecm string
		for _, k := range pe.keys {
			if e, ok := p.epBrand[k]; ok {
				ecm = e
				break
			}
		}
		for _, id := range ids {
			if i, ok := at[key{id, pe.address}]; ok {
				p.dir.Endpoints[i].merge(pe.name, pe.display, ecm)
				continue
			}
			at[key{id, pe.address}] = len(p.dir.Endpoints)
			e := Endpoint{OrgID: id, Address: pe.address}
			e.merge(pe.name, pe.display, ecm)
			p.dir.Endpoints = append(p.dir.Endpoints, e)
		}
	}
	p.dir.Brands = make([]Brand, 0, len(p.brands))
	for _, b := range p.brands {
		p.dir.Brands = append(p.dir.Brands, *b)
	}
	sort.Slice(p.dir.Brands, func(i, j int) bool { return portal.CompareOrgID(p.dir.Brands[i].ECMId, p.dir.Brands[j].ECMId) < 0 })
}

// merge adds what one more Endpoint resource on the address says: its
// name (every distinct one is kept), and the display and brand when none
// was given before.
func (e *Endpoint) merge(name, display, ecm string) {
	if name != "" && !slices.Contains(e.Names, name) {
		e.Names = append(e.Names, name)
	}
	if e.Name == "" {
		e.Name = name
	}
	if e.Display == "" {
		e.Display = display
	}
	if e.ECMId == "" {
		e.ECMId = ecm
	}
}

// splitBrandID reads a brand-identifier: "N" is parent brand N, "N-M" a
// sub-organization of N. Anything else is not a usable identifier.
func splitBrandID(v string) (parent, sub string, ok bool) {
	parent, sub, _ = strings.Cut(v, "-")
	if !isDigits(parent) || (strings.Contains(v, "-") && !isDigits(sub)) {
		return "", "", false
	}
	return parent, sub, true
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// normRef reduces a reference to a key comparable with refKeys: urn:uuid
// and urn:oid references as they are, REST references (relative or
// absolute, with or without _history) to "Type/id".
func normRef(ref string) string {
	ref = strings.TrimSpace(ref)
	if ref == "" || strings.HasPrefix(ref, "urn:") || strings.HasPrefix(ref, "#") {
		return ref
	}
	if i := strings.Index(ref, "/_history/"); i >= 0 {
		ref = ref[:i]
	}
	ref = strings.TrimRight(ref, "/")
	i := strings.LastIndexByte(ref, '/')
	if i < 0 {
		return ref
	}
	j := strings.LastIndexByte(ref[:i], '/')
	return ref[j+1:]
}

// refKeys are the references that may point at a resource: its fullUrl,
// Type/id, and urn:uuid:id (Epic's references are urn:uuid of the id).
func refKeys(fullURL, typ, id string) []string {
	keys := make([]string, 0, 3)
	if k := normRef(fullURL); k != "" {
		keys = append(keys, k)
	}
	if id = strings.TrimSpace(id); id != "" {
		keys = append(keys, typ+"/"+id, "urn:uuid:"+id)
	}
	return keys
}

// parseDate reads a FHIR instant, dateTime or date; zero when it cannot.
func parseDate(s string) time.Time {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02", "2006-01", "2006"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

// expectDelim reads one token and checks it is the delimiter d.
func expectDelim(dec *json.Decoder, d json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if got, ok := tok.(json.Delim); !ok || got != d {
		return &InputError{Msg: fmt.Sprintf("the bundle has %v where %q belongs (byte %d): not a FHIR Bundle; use Epic's Brands bundle, e.g. %s",
			tokenString(tok), string(d), dec.InputOffset(), DefaultBundleURL)}
	}
	return nil
}

// objectKey reads the next member name of an object.
func objectKey(dec *json.Decoder) (string, error) {
	tok, err := dec.Token()
	if err != nil {
		return "", err
	}
	key, ok := tok.(string)
	if !ok {
		return "", &InputError{Msg: fmt.Sprintf("the bundle has %v where a member name belongs (byte %d): fetch it again", tokenString(tok), dec.InputOffset())}
	}
	return key, nil
}

// skipValue consumes one value of any size token by token, holding no
// more than one token in memory.
func skipValue(dec *json.Decoder) error {
	depth := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{', '[':
				depth++
			default:
				depth--
			}
		}
		if depth == 0 {
			return nil
		}
	}
}

func tokenString(tok json.Token) string {
	switch t := tok.(type) {
	case json.Delim:
		return strconv.Quote(string(t))
	case string:
		return "a string"
	case nil:
		return "null"
	case bool:
		return "a boolean"
	}
	return "a number"
}
