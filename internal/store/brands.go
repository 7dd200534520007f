package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"
)

// Endpoint is one FHIR base URL the public Brands bundle gives for a
// management OrgId. An organization can have several.
type Endpoint struct {
	OrgID   string
	Address string // the FHIR base URL
	Name    string // Endpoint.name (the first one on the address)
	// Names are the names of every Endpoint resource on the address,
	// without repeats; Display is managingOrganization.display, the name of
	// the organization the keys are registered with.
	Names   []string
	Display string
	// ECMId is the brand whose Organization resource lists this endpoint,
	// empty when no parent brand does.
	ECMId string
	// Smart is the last check of the endpoint's SMART configuration, nil
	// when it was never checked.
	Smart *SmartConfig
}

// Brand is a parent Organization of the Brands bundle: its
// brand-identifier is the ECMId the management page reports.
type Brand struct {
	ECMId   string
	Name    string
	SubOrgs int // sub-organizations ("N-M" identifiers and partOf children)
}

// BrandsImport describes one import of a Brands bundle.
type BrandsImport struct {
	ID         int64
	ImportedAt time.Time
	Source     string // file path or URL
	// BundleDate is the bundle's own date (Bundle.timestamp or
	// meta.lastUpdated), zero when it gave none.
	BundleDate    time.Time
	Organizations int // Organization resources read
	Endpoints     int // Endpoint resources read
	Brands        int // parent brands
	Unjoined      int // Endpoints without a management OrgId
}

// BrandsData is a whole bundle's worth of directory data, ready to
// replace what is stored.
type BrandsData struct {
	Import    BrandsImport
	Endpoints []Endpoint
	Brands    []Brand
}

// SmartConfig is what one FHIR server's .well-known/smart-configuration
// said, or why it said nothing.
type SmartConfig struct {
	Address   string
	CheckedAt time.Time
	// Answered is false when the server did not answer at all (refused,
	// timed out, kept failing with 5xx).
	Answered bool
	// Error says why no configuration was read; empty when one was.
	Error                 string
	TokenEndpoint         string
	AuthorizationEndpoint string
	AuthMethods           []string // token_endpoint_auth_methods_supported
	SigningAlgs           []string // token_endpoint_auth_signing_alg_values_supported
}

// ReplaceBrands swaps the app's directory data for d in one transaction
// and records the import. Smart configuration checks are kept: they are
// keyed by base URL, which usually survives a new bundle.
func (s *Store) ReplaceBrands(ctx context.Context, app int64, d *BrandsData) (int64, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("store brands: %w", err)
	}
	defer tx.Rollback()
	for _, q := range []string{`DELETE FROM brand_endpoints WHERE app = ?`, `DELETE FROM brands WHERE app = ?`} {
		if _, err := tx.ExecContext(ctx, q, app); err != nil {
			return 0, fmt.Errorf("store brands: %w", err)
		}
	}
	ep, err := tx.PrepareContext(ctx, `INSERT INTO brand_endpoints(app, org_id, address, name, ecm_id, names, display) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT(app, org_id, address) DO NOTHING`)
	if err != nil {
		return 0, fmt.Errorf("store brands: %w", err)
	}
	defer ep.Close()
	for _, e := range d.Endpoints {
		names, err := json.Marshal(nonNil(e.Names))
		if err != nil {
			return 0, fmt.Errorf("store endpoint %s of org %s: %w", e.Address, e.OrgID, err)
		}
		if _, err := ep.ExecContext(ctx, app, e.OrgID, e.Address, e.Name, e.ECMId, string(names), e.Display); err != nil {
			return 0, fmt.Errorf("store endpoint %s of org %s: %w", e.Address, e.OrgID, err)
		}
	}
	br, err := tx.PrepareContext(ctx, `INSERT INTO brands(app, ecm_id, name, sub_orgs) VALUES (?, ?, ?, ?)
		ON CONFLICT(app, ecm_id) DO NOTHING`)
	if err != nil {
		return 0, fmt.Errorf("store brands: %w", err)
	}
	defer br.Close()
	for _, b := range d.Brands {
		if _, err := br.ExecContext(ctx, app, b.ECMId, b.Name, b.SubOrgs); err != nil {
			return 0, fmt.Errorf("store brand %s: %w", b.ECMId, err)
		}
	}
	im := d.Import
	if im.ImportedAt.IsZero() {
		im.ImportedAt = time.Now()
	}
	var bundleDate string
	if !im.BundleDate.IsZero() {
		bundleDate = formatTime(im.BundleDate)
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO brands_imports(app, imported_at, source, bundle_date, organizations, endpoints, brands, unjoined)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, app, formatTime(im.ImportedAt), im.Source, bundleDate,
		im.Organizations, im.Endpoints, im.Brands, im.Unjoined)
	if err != nil {
		return 0, fmt.Errorf("store brands import: %w", err)
	}
	id, _ := res.LastInsertId()
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("store brands: %w", err)
	}
	return id, nil
}

// LastBrandsImport returns the import the stored directory data came
// from, or nil when no bundle was ever imported for the app.
func (s *Store) LastBrandsImport(ctx context.Context, app int64) (*BrandsImport, error) {
	var im BrandsImport
	var at, date string
	err := s.db.QueryRowContext(ctx, `SELECT id, imported_at, source, bundle_date, organizations, endpoints, brands, unjoined
		FROM brands_imports WHERE app = ? ORDER BY id DESC LIMIT 1`, app).
		Scan(&im.ID, &at, &im.Source, &date, &im.Organizations, &im.Endpoints, &im.Brands, &im.Unjoined)
	if err == sql.ErrNoRows {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read last brands import: %w", err)
	}
	im.ImportedAt = parseTime(at)
	if date != "" {
		im.BundleDate = parseTime(date)
	}
	return &im, nil
}

// Endpoints returns the app's FHIR base URLs by OrgId, each list ordered
// by address, with the last SMART configuration check of each attached.
func (s *Store) Endpoints(ctx context.Context, app int64) (map[string][]Endpoint, error) {
	smart, err := s.SmartConfigs(ctx, app)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT org_id, address, name, ecm_id, names, display FROM brand_endpoints
		WHERE app = ? ORDER BY `+orderByOrgID+`, address`, app)
	if err != nil {
		return nil, fmt.Errorf("list endpoints: %w", err)
	}
	defer rows.Close()
	out := make(map[string][]Endpoint)
	for rows.Next() {
		var e Endpoint
		var names string
		if err := rows.Scan(&e.OrgID, &e.Address, &e.Name, &e.ECMId, &names, &e.Display); err != nil {
			return nil, fmt.Errorf("list endpoints: %w", err)
		}
		if err := json.Unmarshal([]byte(names), &e.Names); err != nil {
			return nil, fmt.Errorf("endpoint %s of org %s: names: %w", e.Address, e.OrgID, err)
		}
		if len(e.Names) == 0 && e.Name != "" {
			e.Names = []string{e.Name} // stored before names were kept
		}
		if c, ok := smart[e.Address]; ok {
			e.Smart = &c
		}
		out[e.OrgID] = append(out[e.OrgID], e)
	}
	return out, rows.Err()
}

// Brands returns the app's parent brands by ECMId.
func (s *Store) Brands(ctx context.Context, app int64) (map[string]Brand, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT ecm_id, name, sub_orgs FROM brands WHERE app = ?`, app)
	if err != nil {
		return nil, fmt.Errorf("list brands: %w", err)
	}
	defer rows.Close()
	out := make(map[string]Brand)
	for rows.Next() {
		var b Brand
		if err := rows.Scan(&b.ECMId, &b.Name, &b.SubOrgs); err != nil {
			return nil, fmt.Errorf("list brands: %w", err)
		}
		out[b.ECMId] = b
	}
	return out, rows.Err()
}

// RecordSmartConfig stores one server's answer, replacing the previous
// check of the same base URL. Each check is committed on its own so an
// interrupted run keeps what it learned.
func (s *Store) RecordSmartConfig(ctx context.Context, app int64, c SmartConfig) error {
	methods, err := json.Marshal(nonNil(c.AuthMethods))
	if err != nil {
		return fmt.Errorf("record smart configuration of %s: %w", c.Address, err)
	}
	algs, err := json.Marshal(nonNil(c.SigningAlgs))
	if err != nil {
		return fmt.Errorf("record smart configuration of %s: %w", c.Address, err)
	}
	if c.CheckedAt.IsZero() {
		c.CheckedAt = time.Now()
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO smart_configs(app, address, checked_at, error, answered, token_endpoint,
			authorization_endpoint, auth_methods, signing_algs) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT(app, address) DO UPDATE SET checked_at = excluded.checked_at, error = excluded.error,
			answered = excluded.answered, token_endpoint = excluded.token_endpoint,
			authorization_endpoint = excluded.authorization_endpoint, auth_methods = excluded.auth_methods,
			signing_algs = excluded.signing_algs`,
		app, c.Address, formatTime(c.CheckedAt), c.Error, c.Answered, c.TokenEndpoint, c.AuthorizationEndpoint,
		string(methods), string(algs))
	if err != nil {
		return fmt.Errorf("record smart configuration of %s: %w", c.Address, err)
	}
	return nil
}

// SmartConfigs returns the last check of every base URL, by address.
func (s *Store) SmartConfigs(ctx context.Context, app int64) (map[string]SmartConfig, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT address, checked_at, error, answered, token_endpoint, authorization_endpoint,
		auth_methods, signing_algs FROM smart_configs WHERE app = ?`, app)
	if err != nil {
		return nil, fmt.Errorf("list smart configurations: %w", err)
	}
	defer rows.Close()
	out := make(map[string]SmartConfig)
	for rows.Next() {
		var c SmartConfig
		var at, methods, algs string
		if err := rows.Scan(&c.Address, &at, &c.Error, &c.Answered, &c.TokenEndpoint, &c.AuthorizationEndpoint, &methods, &algs); err != nil {
			return nil, fmt.Errorf("list smart configurations: %w", err)
		}
		c.CheckedAt = parseTime(at)
		if err := json.Unmarshal([]byte(methods), &c.AuthMethods); err != nil {
			return nil, fmt.Errorf("smart configuration of %s: auth methods: %w", c.Address, err)
		}
		if err := json.Unmarshal([]byte(algs), &c.SigningAlgs); err != nil {
			return nil, fmt.Errorf("smart configuration of %s: signing algorithms: %w", c.Address, err)
		}
		out[c.Address] = c
	}
	return out, rows.Err()
}

// nonNil makes a nil list encode as [] rather than null.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
