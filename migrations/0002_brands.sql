-- What Epic's public Brands bundle said, per app: replaced as a whole by each import,
-- so a report never mixes two bundles.

-- Every import of a Brands bundle; the newest row describes the data below.
CREATE TABLE brands_imports (
    id            INTEGER PRIMARY KEY,
    app           INTEGER NOT NULL REFERENCES apps(id),
    imported_at   TEXT NOT NULL,
    source        TEXT NOT NULL,              -- file path or URL it was read from
    bundle_date   TEXT NOT NULL DEFAULT '',   -- Bundle.timestamp (or meta.lastUpdated), '' when absent
    organizations INTEGER NOT NULL,           -- Organization resources read
    endpoints     INTEGER NOT NULL,           -- Endpoint resources read
    brands        INTEGER NOT NULL,           -- parent brands (numeric brand-identifier)
    unjoined      INTEGER NOT NULL DEFAULT 0  -- Endpoints without a management OrgId
);
CREATE INDEX brands_imports_app ON brands_imports(app, id);

-- FHIR base URLs by management OrgId (Endpoint.managingOrganization.identifier).
CREATE TABLE brand_endpoints (
    app     INTEGER NOT NULL REFERENCES apps(id),
    org_id  TEXT NOT NULL,
    address TEXT NOT NULL,            -- the FHIR base URL
    name    TEXT NOT NULL DEFAULT '', -- Endpoint.name
    ecm_id  TEXT NOT NULL DEFAULT '', -- the brand whose Organization lists this endpoint, if any
    PRIMARY KEY (app, org_id, address)
) WITHOUT ROWID;

-- Parent brands by ECMId (numeric brand-identifier) with their sub-organization count.
CREATE TABLE brands (
    app      INTEGER NOT NULL REFERENCES apps(id),
    ecm_id   TEXT NOT NULL,
    name     TEXT NOT NULL,
    sub_orgs INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (app, ecm_id)
) WITHOUT ROWID;

-- The last answer of {base}/.well-known/smart-configuration per FHIR base URL. Kept across
-- imports: a base URL that stays in the bundle keeps its last check.
CREATE TABLE smart_configs (
    app                    INTEGER NOT NULL REFERENCES apps(id),
    address                TEXT NOT NULL,
    checked_at             TEXT NOT NULL,
    error                  TEXT NOT NULL DEFAULT '', -- why no configuration was read; '' when it was
    answered               INTEGER NOT NULL DEFAULT 0, -- 1 when the server answered at all
    token_endpoint         TEXT NOT NULL DEFAULT '',
    authorization_endpoint TEXT NOT NULL DEFAULT '',
    auth_methods           TEXT NOT NULL DEFAULT '[]', -- token_endpoint_auth_methods_supported, JSON
    signing_algs           TEXT NOT NULL DEFAULT '[]', -- token_endpoint_auth_signing_alg_values_supported, JSON
    PRIMARY KEY (app, address)
) WITHOUT ROWID;
