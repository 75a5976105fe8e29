package integrations

import (
	"encoding/hex"
	"strconv"
	"time"
)

// cameraState is a camera's retained state, <base>/camera/<camera>/state
// (docs/SPEC.md §13.2).
type cameraState struct {
	Camera    string `json:"camera"`
	Epoch     uint64 `json:"epoch"`
	Online    bool   `json:"online"`    // a link session is live
	Recording bool   `json:"recording"` // online, and its newest segment ended in the last 30 s
	Link      string `json:"link"`      // connected, disconnected, refused:<code>
	// HeadSeq and Head: the newest record the hub holds (null: none).
	HeadSeq *uint64 `json:"head_seq"`
	Head    string  `json:"head,omitempty"`
	// AckedSeq: the last record the hub acknowledged (after a restart,
	// its head: the hub acknowledges every record it stores).
	AckedSeq          *uint64 `json:"acked_seq"`
	Checkpoints       uint64  `json:"checkpoints"`
	LastCheckpointSeq *uint64 `json:"last_checkpoint_seq"`
	LastCheckpoint    string  `json:"last_checkpoint,omitempty"` // end of its period, RFC 3339
	// LastCheckpointAge is the checkpoint lag in seconds (since the
	// imprint while there is none); refreshed every minute.
	LastCheckpointAge int64  `json:"last_checkpoint_age"`
	RetentionSeconds  int64  `json:"retention_seconds"`
	Alarms            uint64 `json:"alarms"` // alarms recorded for this camera, ever
	LastAlarm         string `json:"last_alarm,omitempty"`
	LastAlarmAt       string `json:"last_alarm_at,omitempty"`
	// IntegrityAlarm: an integrity alarm (clone, divergence, impostor,
	// refused or missing checkpoint) in the last 24 hours.
	IntegrityAlarm bool `json:"integrity_alarm"`
}

func (s *Service) stateOf(ci CameraInfo, now time.Time) cameraState {
	l := s.tr.snapshot(ci.Camera)
	st := cameraState{
		Camera: ci.Camera.Hex(), Epoch: ci.Epoch, Online: ci.Online, Recording: ci.Recording,
		Link:        l.link,
		Checkpoints: ci.Checkpoints, RetentionSeconds: int64(ci.Retention / time.Second),
		LastCheckpointAge: int64(checkpointLag(ci, now) / time.Second),
		Alarms:            l.alarms, LastAlarm: string(l.lastAlarm), LastAlarmAt: rfc(l.lastAlarmAt),
		IntegrityAlarm: !l.lastIntegrity.IsZero() && now.Sub(l.lastIntegrity) < IntegrityHold,
	}
	if ci.Head.Valid {
		seq := ci.Head.Seq
		st.HeadSeq, st.Head = &seq, "0x"+hex.EncodeToString(ci.Head.Hash[:])
		acked := seq
		if l.ackedValid && l.acked <= seq {
			acked = l.acked
		}
		st.AckedSeq = &acked
	}
	if ci.Checkpoints > 0 {
		seq := ci.LastCheckpointSeq
		st.LastCheckpointSeq, st.LastCheckpoint = &seq, rfc(ci.LastCheckpointEnd)
	}
	return st
}

// fields are the state's plain-text topics, <base>/camera/<camera>/<name>.
func (st cameraState) fields() map[string]string {
	opt := func(p *uint64) string {
		if p == nil {
			return ""
		}
		return strconv.FormatUint(*p, 10)
	}
	return map[string]string{
		"online":          strconv.FormatBool(st.Online),
		"recording":       strconv.FormatBool(st.Recording),
		"link":            st.Link,
		"head":            opt(st.HeadSeq),
		"acked":           opt(st.AckedSeq),
		"last_checkpoint": st.LastCheckpoint,
		"retention":       strconv.FormatInt(st.RetentionSeconds, 10),
		"alarms":          strconv.FormatUint(st.Alarms, 10),
		"integrity_alarm": strconv.FormatBool(st.IntegrityAlarm),
	}
}
