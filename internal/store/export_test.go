package store

// SetSearchPlan makes a search rare below rare terms and walk window
// users a row, until the test ends: a directory of a few dozen users then
// takes the plans that a large one does.
func SetSearchPlan(t interface{ Cleanup(func()) }, rare, window int) {
	oldRare, oldWindow := rareTerms, walkWindow
	rareTerms, walkWindow = rare, window
	t.Cleanup(func() { rareTerms, walkWindow = oldRare, oldWindow })
}
