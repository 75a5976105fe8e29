package audit

import (
	"errors"
	"strings"
	"testing"
)

func TestKindNamespaces(t *testing.T) {
	for _, tc := range []struct {
		k     Kind
		src   Source
		filed bool
		alarm bool
	}{
		{Imprint, SourceLedger, false, false},
		{Transfer, SourceLedger, false, false},
		{Pairing, SourceHub, true, false},
		{PairingRefused, SourceHub, true, false},
		{CloneSuspected, SourceHub, true, true},
		{UnboundAlarm, SourceHub, true, true},
		{ClientClone, SourceHub, true, true},
		{ClientEnrolled, SourceHub, true, false},
		{ClientPending, SourceHub, true, false},
		{ClientApproved, SourceHub, true, false},
		{LoginOverride, SourceHub, true, true},
		{WitnessFork, SourceHub, true, true},
		{EvidenceExport, SourceHub, true, false},
		{LoginPolicy, SourceLedger, false, false},
		{Retention, SourceLedger, false, false},
		{LegalHold, SourceLedger, false, false},
		{ViewingKey, SourceLedger, false, false},
		{Encryption, SourceLedger, false, false},
		{EmergencyPrune, SourceHub, true, true},
		{ChainDivergence.Kind(), SourceCamera, true, true},
		{Alarm("transfer").Kind(), SourceCamera, true, true},
		{"hub/", SourceHub, false, false},
		{"hub/a/b", SourceHub, false, false},
		{"hub/A", SourceHub, false, false},
		{"ledger/transfer", SourceLedger, false, false},
		{Kind("camera/" + strings.Repeat("a", MaxAlarmBytes)), SourceCamera, true, true},
		{Kind("camera/" + strings.Repeat("a", MaxAlarmBytes+1)), SourceCamera, false, true},
	} {
		if got := tc.k.Source(); got != tc.src {
			t.Errorf("%q: source %s, want %s", tc.k, got, tc.src)
		}
		if err := tc.k.ValidFiled(); (err == nil) != tc.filed || (err != nil && !errors.Is(err, ErrKind)) {
			t.Errorf("%q: ValidFiled = %v, want filed=%v", tc.k, err, tc.filed)
		}
		if got := tc.k.IsAlarm(); got != tc.alarm {
			t.Errorf("%q: IsAlarm = %v, want %v", tc.k, got, tc.alarm)
		}
	}
	for _, a := range []Alarm{"", "Chain", "a/b", Alarm(strings.Repeat("a", MaxAlarmBytes+1))} {
		if a.Valid() == nil {
			t.Errorf("alarm %q accepted", a)
		}
	}
	// Every valid alarm name files as a valid camera kind.
	for _, a := range []Alarm{ChainDivergence, ImpostorHub, StorageFull, CameraPairRefused, CheckpointRefused, Alarm(strings.Repeat("z", MaxAlarmBytes))} {
		if a.Valid() != nil || a.Kind().ValidFiled() != nil {
			t.Errorf("alarm %q: %v / %v", a, a.Valid(), a.Kind().ValidFiled())
		}
	}
}
