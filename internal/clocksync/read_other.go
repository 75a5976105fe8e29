//go:build !linux

package clocksync

import "errors"

// Read is Linux's only: elsewhere the clock's state is not known.
func Read() (State, error) {
	return State{}, errors.New("clocksync: the clock's synchronisation state is read on Linux only")
}
