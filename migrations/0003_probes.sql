-- Every probe of an organization's authorization server: the app's client id and a random
-- control client id, both as a standalone-launch authorize request, compared.
CREATE TABLE probes (
    id            INTEGER PRIMARY KEY,
    app           INTEGER NOT NULL REFERENCES apps(id),
    org_id        TEXT NOT NULL,
    run_id        INTEGER NOT NULL DEFAULT 0, -- the activation run it ended, 0 for `activator probe`
    at            TEXT NOT NULL,
    activated_at  TEXT NOT NULL DEFAULT '',   -- when production was activated, as far as known
    base_url      TEXT NOT NULL,              -- the FHIR base URL (sent as aud)
    authorize_url TEXT NOT NULL,              -- the smart-configuration's authorization_endpoint
    class         TEXT NOT NULL,              -- live | not-known | inconclusive | unreachable | error
    evidence      TEXT NOT NULL DEFAULT '',   -- why, in one line
    app_answer    TEXT NOT NULL DEFAULT '{}', -- JSON: hops, status, title, form, error (client ids masked)
    control_answer TEXT NOT NULL DEFAULT '{}',
    requests      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX probes_org ON probes(app, org_id, id);
