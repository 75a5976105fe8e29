package verify

import "fmt"

// judgeRecords gives every record its verdict, before looking at files.
func judgeRecords(recs []record, cps []*ckpt, a anchors) {
	// committed reports whether a verified checkpoint stands behind the
	// committed hash of seq i: only then does a record that differs from it
	// stand out as the one replaced. Under a failed checkpoint every record
	// it does not prove is suspect alike.
	committed := func(i int) bool { return a[i].known && cps[a[i].by].res.Status == Verified }
	for i := range recs {
		rec := &recs[i]
		switch {
		case a[i].known && rec.hash == a[i].hash && a[i].cite >= 0:
			if rec.bad != "" { // a checkpoint committed a record the camera did not sign: cannot happen short of a broken key
				rec.status, rec.detail = Forged, rec.bad
				continue
			}
			rec.status, rec.cite = Verified, cps[a[i].cite].ref
		case committed(i) && rec.hash != a[i].hash:
			by := cps[a[i].by]
			rec.status = Forged
			if rec.bad != "" {
				rec.detail = fmt.Sprintf("%s; checkpoint #%d committed another record here (hash %s, this one %s)",
					rec.bad, by.in.Index, a[i].hash.Short(), rec.hash.Short())
			} else {
				rec.detail = fmt.Sprintf("signed by the camera, but not the record checkpoint #%d committed here (hash %s, this one %s): the chain link is broken, history rewritten",
					by.in.Index, a[i].hash.Short(), rec.hash.Short())
			}
		case rec.bad != "":
			rec.status, rec.detail = Forged, rec.bad
		case i > 0 && brokenLink(recs, i, a, committed(i-1)):
			rec.status = Forged
			rec.detail = fmt.Sprintf("the chain link is broken: its prev is %s, but record %d hashes to %s",
				rec.r.Prev.Short(), i-1, recs[i-1].hash.Short())
		default:
			c := covering(cps, uint64(i))
			switch {
			case c != nil && c.res.Status == Failed:
				rec.status = Failed
				rec.detail = fmt.Sprintf("checkpoint #%d (height %d) covers it and failed: %s", c.in.Index, c.in.Height, c.res.Detail)
			case c != nil && c.res.Status == Unchecked:
				rec.status = Pending
				rec.detail = fmt.Sprintf("checkpoint #%d (height %d) %s", c.in.Index, c.in.Height, c.res.Detail)
			case i > 0 && recs[i-1].status == Forged && rec.r.Prev == recs[i-1].hash:
				rec.status = Forged
				rec.detail = fmt.Sprintf("it follows record %d, which is forged", i-1)
			default:
				rec.status, rec.detail = Pending, "no checkpoint covers it yet"
			}
		}
	}
}

// brokenLink reports whether record i does not follow record i-1 in a way
// record i is to blame for: its prev is neither the committed hash of i-1
// (when a verified checkpoint gives it) nor the hash of a record i-1 that
// is itself the camera's.
func brokenLink(recs []record, i int, a anchors, prevCommitted bool) bool {
	p := recs[i].r.Prev
	if prevCommitted {
		return p != a[i-1].hash && (recs[i-1].status != Forged || p == recs[i-1].hash)
	}
	return p != recs[i-1].hash && recs[i-1].status != Forged
}
