-- What the last run learned about the portal's pace, per app: the next run starts there.
CREATE TABLE pace (
    app         INTEGER PRIMARY KEY REFERENCES apps(id),
    tolerated   REAL NOT NULL,            -- highest calls per second answered without a 429
    limited     INTEGER NOT NULL,         -- 1 when the run saw a 429 (tolerated is near the portal's limit)
    measured_at TEXT NOT NULL
);
