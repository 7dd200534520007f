-- One row per probe pass: how many organizations it set out to probe, and
-- whether it finished, so that status tells a pass still running, or cut
-- off, from a finished one.
CREATE TABLE probe_passes (
    id          INTEGER PRIMARY KEY,
    app         INTEGER NOT NULL REFERENCES apps(id),
    run_id      INTEGER NOT NULL DEFAULT 0,  -- the activation run it was part of, 0 on its own
    started_at  TEXT NOT NULL,
    targets     INTEGER NOT NULL,            -- organizations it set out to probe
    finished_at TEXT                         -- NULL while running, or when the process stopped
);
CREATE INDEX probe_passes_app ON probe_passes(app, id);
