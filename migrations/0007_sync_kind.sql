-- What started each sync: "sync" (orgs sync), "run" (an activation run's first sync),
-- "verify" (a run's re-listing after its calls), "rehearsal" (a dry run, or a run whose
-- plan was declined). orgs list --new/--gone and the report's chart go by it.
ALTER TABLE syncs ADD COLUMN kind TEXT NOT NULL DEFAULT 'sync';
