package integrations

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"time"

	"github.com/camchain/camchain/internal/atomicfile"
)

// The ledger follower puts every committed audit event that concerns this
// hub in the outbox, in ledger order, as blocks commit. Its cursor,
// <dir>/ledger.cursor, is the seq of the last event it looked at; it is
// written after the events are appended, so a crash between the two
// appends them again, and the outbox drops the repeats by id.
//
// Alarms are not taken from the ledger: they went out when the hub
// recorded them (Service.Alarm), before they were filed.

const followerBatch = 256

func (s *Service) followerCursorPath() string { return filepath.Join(s.cfg.Dir, "ledger.cursor") }

func (s *Service) startFollower(ctx context.Context) error {
	var after uint64
	b, err := os.ReadFile(s.followerCursorPath())
	switch {
	case errors.Is(err, os.ErrNotExist):
		// First start with a sink: from now on, not the ledger's history.
		if after, err = s.cfg.Hub.LatestEventSeq(); err != nil {
			return err
		}
		if err := atomicfile.Write(s.followerCursorPath(), encodeCursor(after), 0o600); err != nil {
			return err
		}
	case err != nil:
		return err
	default:
		if after, err = decodeCursor(b); err != nil {
			return err
		}
	}
	s.wg.Add(1)
	go s.follow(ctx, after)
	return nil
}

func (s *Service) follow(ctx context.Context, after uint64) {
	defer s.wg.Done()
	for {
		_, next := s.cfg.Hub.Height()
		for {
			last, err := s.followOnce(after)
			if err != nil {
				s.cfg.Logger.Error("integrations: reading the ledger's audit events", "err", err)
				select {
				case <-ctx.Done():
					return
				case <-time.After(s.cfg.RetryMin):
				}
				continue
			}
			if last <= after {
				break // caught up with this block
			}
			after = last
		}
		select {
		case <-ctx.Done():
			return
		case <-next:
		}
	}
}

// followOnce appends the next batch of events after seq after and moves
// the cursor past them; it returns the new cursor.
func (s *Service) followOnce(after uint64) (uint64, error) {
	evs, last, err := s.cfg.Hub.EventsAfter(after, followerBatch)
	if err != nil {
		return after, err
	}
	for _, e := range evs {
		if e.Kind.IsAlarm() {
			continue
		}
		if _, err := s.ob.Append(NewAudit(s.cfg.Key.Address(), e)); err != nil {
			return after, err
		}
	}
	if last <= after {
		return after, nil
	}
	if err := atomicfile.Write(s.followerCursorPath(), encodeCursor(last), 0o600); err != nil {
		return after, err
	}
	return last, nil
}
