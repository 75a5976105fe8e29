package retention

import (
	"testing"
	"time"
)

func TestAllowed(t *testing.T) {
	day := 24 * time.Hour
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	end := t0 // the segment ended at t0
	seven := PolicyChange{Days: 7, From: t0.Add(2 * day)}
	ninety := PolicyChange{Days: 90, From: t0.Add(3 * day)}
	for _, c := range []struct {
		name    string
		changes []PolicyChange
		now     time.Time
		want    bool
	}{
		{"default, 29 days later", nil, t0.Add(29 * day), false},
		{"default, exactly 30 days later", nil, t0.Add(30 * day), false},
		{"default, 30 days and 1 ns later", nil, t0.Add(30*day + 1), true},
		{"7 days from day 2, day 7", []PolicyChange{seven}, t0.Add(7 * day), false},
		{"7 days from day 2, day 8", []PolicyChange{seven}, t0.Add(8 * day), true},
		{"7 days, then 90 from day 3: never 7 days old under the 7-day policy", []PolicyChange{seven, ninety}, t0.Add(60 * day), false},
		{"7 days, then 90 from day 3: 90 days later", []PolicyChange{seven, ninety}, t0.Add(91 * day), true},
		{"90 from day 3, then 7 from day 40: old enough at once", []PolicyChange{ninety, {Days: 7, From: t0.Add(40 * day)}}, t0.Add(40 * day), true},
		{"90 from day 3, then 7 from day 40: before the change", []PolicyChange{ninety, {Days: 7, From: t0.Add(40 * day)}}, t0.Add(39 * day), false},
		{"1 day from before the segment ended", []PolicyChange{{Days: 1, From: t0.Add(-day)}}, t0.Add(day + 1), true},
	} {
		if got := Allowed(c.changes, end, c.now); got != c.want {
			t.Errorf("%s: Allowed = %v, want %v", c.name, got, c.want)
		}
	}
}
