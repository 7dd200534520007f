-- The shape of each app's organization listing as the last activation run saw it
-- (members with their JSON types, Approved values): a nightly run warns when it changes.
CREATE TABLE listing_shapes (
    app         INTEGER PRIMARY KEY REFERENCES apps(id),
    fingerprint TEXT NOT NULL,
    seen_at     TEXT NOT NULL
);
