-- One database serves several apps on several portals: everything hangs off apps.
CREATE TABLE apps (
    id         INTEGER PRIMARY KEY,
    portal     TEXT NOT NULL,
    app_id     TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (portal, app_id)
);

-- The organizations as last seen on the management page.
CREATE TABLE orgs (
    app         INTEGER NOT NULL REFERENCES apps(id),
    org_id      TEXT NOT NULL,
    name        TEXT NOT NULL,
    ecm_id      TEXT NOT NULL DEFAULT '',
    status      INTEGER NOT NULL,
    first_seen  TEXT NOT NULL,
    last_seen   TEXT NOT NULL,
    gone_since  TEXT,            -- set when a sync no longer lists the org
    PRIMARY KEY (app, org_id)
) WITHOUT ROWID;

-- One row per completed sync of the organization list.
CREATE TABLE syncs (
    id          INTEGER PRIMARY KEY,
    app         INTEGER NOT NULL REFERENCES apps(id),
    started_at  TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    total       INTEGER NOT NULL,
    added       INTEGER NOT NULL,
    renamed     INTEGER NOT NULL,
    gone        INTEGER NOT NULL,
    changed     INTEGER NOT NULL,
    -- counts per status at this sync, as JSON {"0":12,"1":480,...}: the history the report charts.
    counts      TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX syncs_app ON syncs(app, id);

-- What each sync noticed, per organization: new, renamed, gone, returned, status.
CREATE TABLE org_events (
    id       INTEGER PRIMARY KEY,
    app      INTEGER NOT NULL,
    org_id   TEXT NOT NULL,
    sync_id  INTEGER NOT NULL REFERENCES syncs(id),
    kind     TEXT NOT NULL,
    old      TEXT NOT NULL DEFAULT '',
    new      TEXT NOT NULL DEFAULT '',
    at       TEXT NOT NULL
);
CREATE INDEX org_events_org ON org_events(app, org_id, id);
CREATE INDEX org_events_sync ON org_events(sync_id);

-- Every activation run.
CREATE TABLE runs (
    id           INTEGER PRIMARY KEY,
    app          INTEGER NOT NULL REFERENCES apps(id),
    started_at   TEXT NOT NULL,
    finished_at  TEXT,
    mode         TEXT NOT NULL,       -- jwks | jku
    split        INTEGER NOT NULL DEFAULT 0,
    nonprod_keys TEXT NOT NULL DEFAULT '',  -- comma-separated sorted thumbprints
    prod_keys    TEXT NOT NULL DEFAULT '',
    planned      INTEGER NOT NULL DEFAULT 0,
    outcome      TEXT NOT NULL DEFAULT 'running', -- running | done | failures | aborted | interrupted | lapsed
    message      TEXT NOT NULL DEFAULT '',
    pid          INTEGER NOT NULL DEFAULT 0,
    args         TEXT NOT NULL DEFAULT ''
);
CREATE INDEX runs_app ON runs(app, id);

-- One row per organization per environment step of a run, committed before the next call starts.
CREATE TABLE outcomes (
    id          INTEGER PRIMARY KEY,
    run_id      INTEGER NOT NULL REFERENCES runs(id),
    app         INTEGER NOT NULL,
    org_id      TEXT NOT NULL,
    action      TEXT NOT NULL,        -- activate | production | reactivate | verify
    envs        TEXT NOT NULL,        -- both | nonprod | prod (the environments this call set)
    mode        TEXT NOT NULL,        -- jwks | jku
    nonprod_keys TEXT NOT NULL DEFAULT '', -- sorted thumbprints sent for non-production (jwks mode)
    prod_keys    TEXT NOT NULL DEFAULT '', -- sorted thumbprints sent for production (jwks mode)
    result      TEXT NOT NULL,        -- ok | refused | failed | mismatch | verified
    message     TEXT NOT NULL DEFAULT '',
    attempts    INTEGER NOT NULL DEFAULT 0,
    started_at  TEXT NOT NULL,
    finished_at TEXT NOT NULL
);
CREATE INDEX outcomes_org ON outcomes(app, org_id, id);
CREATE INDEX outcomes_run ON outcomes(run_id, id);

-- Key sets that were uploaded, by thumbprint set, so status can say which orgs hold which keys.
CREATE TABLE keysets (
    app         INTEGER NOT NULL,
    thumbprints TEXT NOT NULL,
    kids        TEXT NOT NULL,
    jwks        TEXT NOT NULL,
    first_used  TEXT NOT NULL,
    PRIMARY KEY (app, thumbprints)
) WITHOUT ROWID;
