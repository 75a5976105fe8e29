package clocksync

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestFrom(t *testing.T) {
	for _, tc := range []struct {
		state  int
		status int32
		want   bool
	}{
		{unix.TIME_OK, 0, true},
		{unix.TIME_OK, unix.STA_PLL, true},
		{unix.TIME_OK, unix.STA_UNSYNC, false},
		{unix.TIME_OK, unix.STA_PLL | unix.STA_UNSYNC, false},
		{unix.TIME_ERROR, 0, false},
		{unix.TIME_INS, 0, true}, // a leap second announced: still in step
	} {
		if got := From(tc.state, tc.status, 0).Synchronized; got != tc.want {
			t.Errorf("state %d status %#x: synchronized %v, want %v", tc.state, tc.status, got, tc.want)
		}
	}
	if staUnsync != unix.STA_UNSYNC || timeError != unix.TIME_ERROR {
		t.Fatal("the kernel's constants differ from golang.org/x/sys/unix's")
	}
}

// TestRead: the kernel answers, with a maximum error within the bound it
// keeps (NTP_PHASE_LIMIT: 16 s, where an unsynchronised clock's error
// stands).
func TestRead(t *testing.T) {
	st, err := Read()
	if err != nil {
		t.Fatal(err)
	}
	if st.MaxErrorMicros < 0 || st.MaxErrorMicros > 16_000_000 {
		t.Fatalf("max error %d µs, outside the kernel's 0..16 s", st.MaxErrorMicros)
	}
	t.Logf("this machine: synchronized=%v, max error %d µs", st.Synchronized, st.MaxErrorMicros)
}
