// Package importer brings users and tokens into an organization in bulk:
// users from CSV, token seed files (PSKC, OATH CSV, Entra CSV) and
// synthetic users with known secrets for load tests. Every row is checked
// by the rules of the single change (package admin) before any is
// written; rows are then written in batches, each one transaction with
// its audit events, so that an interrupted import leaves whole batches
// and nothing half-done.
package importer

import "github.com/twofold-mfa/twofold/internal/admin"

// DefaultBatch is how many rows one transaction writes unless
// Importer.Batch says otherwise: large enough that the per-transaction
// cost vanishes, small enough that a transaction holds SQLite's single
// writer for a fraction of a second, so that a running server's sign-ins
// interleave with an import.
const DefaultBatch = 1000

// Importer imports into organizations on behalf of Admin.Actor.
type Importer struct {
	Admin *admin.Service
	// Batch is how many rows one transaction writes; 0 means DefaultBatch.
	Batch int
	// Progress, when not nil, is told after each committed batch how many
	// of the total rows are written.
	Progress func(done, total int)
}

func (im *Importer) batchSize() int {
	if im.Batch > 0 {
		return im.Batch
	}
	return DefaultBatch
}

func (im *Importer) progress(done, total int) {
	if im.Progress != nil {
		im.Progress(done, total)
	}
}
