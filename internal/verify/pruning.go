package verify

import (
	"fmt"
	"time"

	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/retention"
)

// pruneAllowance is what a valid prune statement allows: the files of
// every seq below below are gone by retention.
type pruneAllowance struct {
	below uint64
	by    string // the statement, rendered for details
	// none says why nothing is allowed, for a PrunedEarly detail.
	none string
}

// covers reports whether seq's file is allowed to be gone.
func (a *pruneAllowance) covers(seq uint64) bool { return a != nil && seq < a.below }

// describe says what allows how much, for a PrunedEarly detail.
func (a *pruneAllowance) describe() string {
	switch {
	case a == nil:
		return "there is no prune statement signed by the camera"
	case a.below == 0:
		return a.none
	}
	return fmt.Sprintf("%s allows only the seqs below %d", a.by, a.below)
}

// checkPruneStatement verifies in's prune statement, if any, against the
// records: what it allows, and a problem when there is one that does not
// verify.
func checkPruneStatement(in Input) (*pruneAllowance, string) {
	if in.PruneStatement == nil {
		return nil, ""
	}
	st, err := retention.ParseStatement(in.PruneStatement)
	if err != nil {
		return &pruneAllowance{none: "its prune statement is unreadable"},
			fmt.Sprintf("prune statement: %v: it allows no deletion", err)
	}
	var last *feedchain.Record
	if st.Below-1 < uint64(len(in.Records)) {
		last = in.Records[st.Below-1]
	}
	if err := retention.VerifyStatement(st, in.Camera, in.Epoch, last); err != nil {
		return &pruneAllowance{none: "its prune statement does not verify"},
			fmt.Sprintf("prune statement (claiming seqs below %d): %v: it allows no deletion", st.Below, err)
	}
	return &pruneAllowance{below: st.Below, by: st.String()}, ""
}

// policyAllows reports whether the owner's retention policy allowed the
// deletion of rec's file by in.Now: the hub's rule (SPEC §14.2), which
// deletes only what a committed checkpoint covers, so the record must be
// verified.
func (j *clipJudge) policyAllows(rec *record) bool {
	if !j.in.PolicyKnown || rec.status != Verified {
		return false
	}
	return retention.Allowed(j.in.Policy, rec.r.StartTime().Add(rec.r.Duration), j.in.Now)
}

// policyDetail says what allowed rec's deletion under the policy.
func (j *clipJudge) policyDetail(rec *record) string {
	end := rec.r.StartTime().Add(rec.r.Duration)
	what := fmt.Sprintf("the hub's %d-day default (no retention policy of the owner on the ledger)", int(retention.DefaultHubRetention.Hours()/24))
	if n := len(j.in.Policy); n > 0 {
		p := j.in.Policy[n-1]
		what = fmt.Sprintf("the owner's retention policy on the ledger (now %d days, since %s)", p.Days, p.From.UTC().Format(time.RFC3339))
	}
	return fmt.Sprintf("deleted by retention: it ended %s and %s allowed its deletion by %s", end.UTC().Format(time.RFC3339), what, j.in.Now.UTC().Format(time.RFC3339))
}

// emergency returns the hub's emergency-prune event that covers seq, if any.
func (j *clipJudge) emergency(seq uint64) *retention.Emergency {
	for i := range j.in.Emergencies {
		if e := &j.in.Emergencies[i]; e.Covers(j.in.Epoch, j.in.Stream, seq) {
			return e
		}
	}
	return nil
}
