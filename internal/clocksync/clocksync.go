// Package clocksync says whether this machine's clock is synchronised,
// as the kernel knows it: an NTP client (chrony, ntpd, systemd-timesyncd)
// that disciplines the clock clears the kernel's STA_UNSYNC flag, which
// is what `timedatectl` shows as "System clock synchronized". The camera
// agent records it in each arrival-clocked record (docs/SPEC.md §6.5).
package clocksync

// State is the kernel's word on the clock.
type State struct {
	// Synchronized: an NTP client keeps the clock in step (STA_UNSYNC
	// clear and the clock state not TIME_ERROR).
	Synchronized bool
	// MaxErrorMicros is the kernel's maximum error estimate (timex
	// maxerror), in microseconds.
	MaxErrorMicros int64
}

// From reads a State from adjtimex's answer: its return value (the clock
// state, TIME_OK … TIME_ERROR) and the status and maxerror fields.
func From(clockState int, status int32, maxError int64) State {
	return State{
		Synchronized:   clockState != timeError && status&staUnsync == 0,
		MaxErrorMicros: maxError,
	}
}

// The kernel's constants (linux/timex.h), the same on every architecture.
const (
	staUnsync = 0x0040 // STA_UNSYNC: clock unsynchronized
	timeError = 5      // TIME_ERROR: clock not synchronized
)
