-- Write-ahead intents: every ApproveDownload call is recorded in outcomes with
-- result 'pending' before it is sent, and that row is updated with the outcome
-- after the answer. A row still 'pending' when no run holds the lock is a call
-- whose outcome was never heard (kill -9, power loss, a second Ctrl-C, a full
-- disk); the next run resolves it against the portal's listing: 'unconfirmed'
-- (the portal shows it enabled: probably this upload) or 'failed' (it does not:
-- called again). This index finds the pending rows without a scan.
CREATE INDEX outcomes_pending ON outcomes(app, id) WHERE result = 'pending';
