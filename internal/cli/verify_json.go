package cli

import (
	"github.com/camchain/camchain/internal/verify"
)

// verifyJSON is what --json prints.
type verifyJSON struct {
	OK     bool        `json:"ok"` // everything checked is verified; the exit status is 0 exactly then
	Hub    string      `json:"hub"`
	Chains []chainJSON `json:"chains"`
}

type chainJSON struct {
	OK          bool                  `json:"ok"`
	Dir         string                `json:"dir,omitempty"` // the chain directory; absent for clips outside one
	RecordsFrom string                `json:"records_from"`  // the records.log read, or the hub's URL
	Counts      map[verify.Status]int `json:"counts"`
	*verify.Report
}

func verifyJSONOf(hub string, jobs []*verifyJob, ok bool) verifyJSON {
	out := verifyJSON{OK: ok, Hub: hub, Chains: []chainJSON{}}
	for _, j := range jobs {
		out.Chains = append(out.Chains, chainJSON{OK: j.report.OK(), Dir: j.dir, RecordsFrom: j.recordsFrom, Counts: j.report.Counts(), Report: j.report})
	}
	return out
}
