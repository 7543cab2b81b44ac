package store

import (
	"context"
	"database/sql"
)

// SetSearchPlan makes a search rare below rare terms and walk window
// users a row, until the test ends: a directory of a few dozen users then
// takes the plans that a large one does.
func SetSearchPlan(t interface{ Cleanup(func()) }, rare, window int) {
	oldRare, oldWindow := rareTerms, walkWindow
	rareTerms, walkWindow = rare, window
	t.Cleanup(func() { rareTerms, walkWindow = oldRare, oldWindow })
}

// RunMigrationStep runs the Go step of migration version in a
// transaction of its own.
func RunMigrationStep(ctx context.Context, s *Store, version int) error {
	return s.inTx(ctx, func(tx *sql.Tx) error { return migrationSteps[version](s, ctx, tx) })
}
