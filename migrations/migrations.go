// Package migrations holds the state database schema as numbered SQL files.
//
// Each file NNNN_name.sql is applied once, in order, inside a transaction, and
// recorded in the schema_migrations table. Files are never edited after they
// ship: a change to the schema is a new file with the next number.
package migrations

import "embed"

// FS holds every migration, embedded in the binary so that a state database
// can be created or upgraded anywhere the tool runs.
//
//go:embed *.sql
var FS embed.FS
