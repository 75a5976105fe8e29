package wallet

import (
	"testing"
	"time"
)

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestKeyFileName(t *testing.T) {
	var addr [20]byte
	addr[19] = 0xab
	got := keyFileName(addr, mustTime("2024-01-02T03:04:05.000000007+02:00"))
	want := "UTC--2024-01-02T01-04-05.000000007Z--00000000000000000000000000000000000000ab"
	if got != want {
		t.Errorf("keyFileName = %s, want %s", got, want)
	}
}
