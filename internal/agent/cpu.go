package agent

import (
	"syscall"
	"time"
)

// processCPU is the user+system CPU time the agent process has used, from
// its rusage (exact to the microsecond, unlike /proc's clock ticks): what
// `camchain-agent status` reports as cpu_ns, so a footprint measurement
// can take the difference over a window.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
