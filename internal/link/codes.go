package link

// RefuseCode says why a side closes a session (the Refuse message's code).
type RefuseCode string

// Refuse codes (SPEC §7).
const (
	RefuseFork      RefuseCode = "fork"       // two records, or two chain secrets, for one place: a clone
	RefuseDiverged  RefuseCode = "diverged"   // the peer does not hold the same chain (or chain secret)
	RefuseReplay    RefuseCode = "replay"     // a record the hub already holds, sent again
	RefuseBusy      RefuseCode = "busy"       // a second session while one is live
	RefuseNotPaired RefuseCode = "not-paired" // not imprinted, bound or pinned on this hub
	RefuseBadRecord RefuseCode = "bad-record" // a record that does not follow the hub's head
	RefuseIdentity  RefuseCode = "identity"   // a handshake not signed by whom it must be
	RefuseProtocol  RefuseCode = "protocol"   // a malformed or unexpected frame
	RefuseInternal  RefuseCode = "internal"   // the hub failed on its side
	RefusePairing   RefuseCode = "pairing-refused"
)

// Divergent reports whether the code means the chains differ (the camera
// raises chain-divergence and backs off).
func (c RefuseCode) Divergent() bool { return c == RefuseFork || c == RefuseDiverged }

// State is the camera's view of its link (Client.OnState).
type State string

// Link states.
const (
	StateConnecting   State = "connecting"
	StateConnected    State = "connected"
	StateDisconnected State = "disconnected"
	StateDiverged     State = "diverged" // divergence or an impostor: backing off, recording on
)
