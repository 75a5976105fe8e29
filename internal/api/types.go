package api

// Prefix is the path prefix of API version 1.
const Prefix = "/api/v1"

// Status is GET /api/v1/status.
type Status struct {
	LedgerChainID string `json:"chain_id"`        // CometBFT chain id, "camchain-<n>"
	EVMChainID    uint64 `json:"eip712_chain_id"` // the chainId transactions are signed for
	Height        uint64 `json:"height"`
	AppHash       string `json:"app_hash"`
	HubAddress    string `json:"hub_address"`
	Version       string `json:"version"`
	LatestBlock   string `json:"latest_block_time,omitempty"`
	CatchingUp    bool   `json:"catching_up"`
	ValidatorKey  string `json:"validator_address"`
}

// Device is a camera's ledger record.
type Device struct {
	Camera           string             `json:"camera"`
	Owned            bool               `json:"owned"`
	Owner            string             `json:"owner,omitempty"`
	Hub              string             `json:"hub,omitempty"`
	Epoch            uint64             `json:"epoch"`
	ImprintedAt      string             `json:"imprinted_at,omitempty"`
	CheckpointPeriod uint64             `json:"checkpoint_period_seconds"`
	Grants           []Grant            `json:"grants"`
	Checkpoints      CheckpointsSummary `json:"checkpoints"`
	// SubCheckpoints summarises the sub stream's chain's own checkpoints
	// (SPEC §6.3, §6.5), when it has any.
	SubCheckpoints *CheckpointsSummary `json:"sub_checkpoints,omitempty"`
}

// CheckpointsSummary summarises the checkpoints of the current epoch.
type CheckpointsSummary struct {
	Count         uint64 `json:"count"`
	LastSeq       uint64 `json:"last_seq,omitempty"`
	LastPeriodEnd string `json:"last_period_end,omitempty"`
}

// Grant is a viewer's access to a camera.
type Grant struct {
	Viewer      string `json:"viewer"`
	ValidUntil  string `json:"valid_until,omitempty"`  // absent: until revoked
	HistoryFrom string `json:"history_from,omitempty"` // absent: all history
	GrantedAt   string `json:"granted_at"`
	Active      bool   `json:"active"`
}

// Checkpoint is a committed integrity checkpoint.
type Checkpoint struct {
	Camera      string `json:"camera"`
	Epoch       uint64 `json:"epoch"`
	Index       uint64 `json:"index"`
	PeriodStart string `json:"period_start"`
	PeriodEnd   string `json:"period_end"`
	FirstSeq    uint64 `json:"first_seq"`
	LastSeq     uint64 `json:"last_seq"`
	TreeSize    uint64 `json:"tree_size"`
	PrevTreeLen uint64 `json:"prev_tree_size"`
	Root        string `json:"root"`
	ChainHead   string `json:"chain_head"`
	Height      uint64 `json:"height"`
	Time        string `json:"time"`
	TxHash      string `json:"tx_hash"`
}

// Event is an audit-log entry. Source says who wrote it: "ledger" (the
// effect of a signed transaction), "hub" (the hub's word) or "camera" (an
// alarm the camera raised, relayed by its hub).
type Event struct {
	Seq     uint64 `json:"seq"`
	Height  uint64 `json:"height"`
	Time    string `json:"time"`
	Kind    string `json:"kind"`
	Source  string `json:"source"`
	Camera  string `json:"camera,omitempty"`
	Actor   string `json:"actor,omitempty"`
	Owner   string `json:"owner,omitempty"`
	Hub     string `json:"hub,omitempty"`
	Subject string `json:"subject,omitempty"`
	Detail  string `json:"detail,omitempty"`
	TxHash  string `json:"tx_hash"`
}

// SubmitRequest is the body of POST /api/v1/txs.
type SubmitRequest struct {
	Tx string `json:"tx"` // 0x-prefixed hex of the canonical CBOR transaction
}

// TxResult is the outcome of a submitted or looked-up transaction.
type TxResult struct {
	Hash     string `json:"hash"`
	Code     uint32 `json:"code"`
	CodeName string `json:"code_name"`
	Log      string `json:"log,omitempty"`
	Height   uint64 `json:"height,omitempty"` // absent: refused before any block
	Index    uint32 `json:"index,omitempty"`
	Type     string `json:"type,omitempty"`
	Tx       string `json:"tx,omitempty"` // lookups only: the transaction bytes, 0x hex
}

// NonceUse is the answer to GET /api/v1/nonces/{signer}/{nonce}: the
// committed transaction that spent the nonce.
type NonceUse struct {
	Signer string `json:"signer"`
	Nonce  string `json:"nonce"` // decimal: a uint64 does not fit a JSON number exactly
	TxHash string `json:"tx_hash"`
}

// ViewingKey is the answer to GET /api/v1/viewing-keys/{account}: the
// account's registered public viewing key (docs/SPEC.md §17.1) and the
// ViewingKey transaction that registered it, whose signature a client
// checks itself (tx.Decode, then its signer must be Account).
type ViewingKey struct {
	Account   string `json:"account"`
	KEM       uint64 `json:"kem"`        // 25722 (0x647a): X-Wing
	KeyID     string `json:"key_id"`     // viewkey:0x…
	PublicKey string `json:"public_key"` // 0x hex, 1216 bytes
	Height    uint64 `json:"height"`
	Time      string `json:"time"`
	TxHash    string `json:"tx_hash"`
	Tx        string `json:"tx"` // the registering transaction's wire bytes, 0x hex
}

// Envelope is one content key's envelope as the camera signed it (SPEC
// §17.2, §7.4): the client checks the camera's signature on Envelope and
// opens it with its viewing key; the hub can do neither.
type Envelope struct {
	Camera     string   `json:"camera"`
	Epoch      uint64   `json:"epoch"`
	Serial     uint64   `json:"serial"`
	Recipients []string `json:"recipients"` // the accounts it is wrapped to, ascending
	Envelope   string   `json:"envelope"`   // the wire bytes, 0x hex
}

// List wraps every collection response.
type List[T any] struct {
	Items []T `json:"items"`
	// Next, when set, is the query value that returns the following page.
	Next string `json:"next,omitempty"`
}

// LinkInfo is GET /api/v1/link: where cameras reach this hub.
type LinkInfo struct {
	HubAddress  string `json:"hub_address"`
	LinkAddress string `json:"link_address"` // host:port of the camera link (TLS 1.3)
	TLSPin      string `json:"tls_pin"`      // SHA-256 of the hub's TLS public key, hex
}

// ResyncRequest is the body of POST /api/v1/devices/{camera}/resync.
type ResyncRequest struct {
	Resync string `json:"resync"` // the owner-signed resync (SPEC §7.2), 0x hex of its CBOR
}

// ResyncResult is the answer to POST /api/v1/devices/{camera}/resync.
type ResyncResult struct {
	Camera string `json:"camera"`
	Epoch  uint64 `json:"epoch"`
	Expiry string `json:"expiry"` // RFC 3339: the camera must connect before
}

// PairRequest is the body of POST /api/v1/pairings.
type PairRequest struct {
	Tx           string `json:"tx"`                 // the Imprint, signed by owner and camera, 0x hex
	CameraTLSPin string `json:"camera_tls_pin"`     // the camera's TLS key pin, hex
	CameraPinSig string `json:"camera_tls_pin_sig"` // the camera's signature of the pin for this imprint (SPEC §8), 0x hex
	ResetTx      string `json:"reset_tx,omitempty"` // a camera-signed Reset the ledger has not seen, 0x hex
}

// PairResult is the answer to POST /api/v1/pairings.
type PairResult struct {
	Camera  string    `json:"camera"`
	Owner   string    `json:"owner"`
	Hub     string    `json:"hub"`
	Epoch   uint64    `json:"epoch"`
	Imprint TxResult  `json:"imprint"`
	Reset   *TxResult `json:"reset,omitempty"`
}

// Recording is one stored segment of a camera.
type Recording struct {
	Seq      uint64  `json:"seq"`
	Start    string  `json:"start"` // RFC 3339 with nanoseconds
	Duration float64 `json:"duration_seconds"`
	Size     uint64  `json:"size"`
	Hash     string  `json:"record_hash"`
	// Stream is the record's stream ("main" or "sub"); Clock where its
	// start time comes from: "rtcp" (the camera's sender reports),
	// "arrival" (the recording machine's clock), "arrival-ntp" (that clock,
	// NTP-synchronised by its kernel's word) or "unknown" (a version 1
	// record). SPEC §6.1, §6.5.
	Stream string `json:"stream"`
	Clock  string `json:"clock"`
	Pruned bool   `json:"pruned,omitempty"` // the segment file was removed by retention
	// Integrity is "verified" (a ledger checkpoint covers it and its root
	// matches the hub's records), "pending" (not checkpointed yet) or
	// "failed" (a covering checkpoint does not match, or the file is lost).
	Integrity        string `json:"integrity"`
	CheckpointHeight uint64 `json:"checkpoint_height,omitempty"` // the block of the checkpoint that verified it
}

// Recordings is GET /api/v1/devices/{camera}/recordings.
type Recordings struct {
	Camera string      `json:"camera"`
	Epoch  uint64      `json:"epoch"`
	Stream string      `json:"stream"` // the chain listed: "main" or "sub" (?stream=)
	Live   bool        `json:"live"`   // the camera's session for this stream is connected now
	Head   *uint64     `json:"head_seq,omitempty"`
	Items  []Recording `json:"items"`
	Next   string      `json:"next,omitempty"`
}

// RecordList is GET /api/v1/devices/{camera}/records: the feed-chain
// records a hub stores for a camera in one epoch, from seq `from` on, in
// sequence order. Each item is the record as the camera signed it (SPEC
// §6.1, feedchain Marshal), 0x hex; item i is seq from+i.
type RecordList struct {
	Camera string   `json:"camera"`
	Epoch  uint64   `json:"epoch"`
	Stream string   `json:"stream"` // the chain listed: "main" or "sub" (?stream=)
	Items  []string `json:"items"`
	Next   string   `json:"next,omitempty"` // the `from` of the next page, when there is one
}

// CameraStatus is GET /devices/{camera}/status: what the hub knows of a
// camera now, for the web UI's camera list. The link state and the
// recordings are the hub's word; the checkpoint and the policy are the
// ledger's.
type CameraStatus struct {
	Camera           string        `json:"camera"`
	Epoch            uint64        `json:"epoch"`
	Online           bool          `json:"online"`    // connected over the camera link now
	Recording        bool          `json:"recording"` // online, and its latest segment ended within the last 30 s
	HeadSeq          *uint64       `json:"head_seq,omitempty"`
	HeadHash         string        `json:"head_hash,omitempty"` // the hub's chain head (record hash)
	LastSegmentEnd   string        `json:"last_segment_end,omitempty"`
	Codec            string        `json:"codec,omitempty"`   // of the latest segment, RFC 6381 (video, then audio)
	Streams          []string      `json:"streams,omitempty"` // the streams ("main", "sub") this hub holds recordings of in the epoch, each its own chain
	RetentionSeconds uint64        `json:"retention_seconds"` // how long this hub keeps the camera's recordings: the ledger policy, else --retention
	RetentionPolicy  bool          `json:"retention_policy"`  // retention_seconds is the owner's ledger policy (else the hub's --retention)
	Encryption       bool          `json:"encryption"`        // the owner's ledger policy turns end-to-end encryption on (SPEC §17.4); off without one
	CheckpointPeriod uint64        `json:"checkpoint_period_seconds"`
	LastCheckpoint   *Checkpoint   `json:"last_checkpoint,omitempty"`
	Alarms           *AlarmSummary `json:"alarms,omitempty"` // the owner only
}

// AlarmSummary counts the security alarms among a camera's latest audit
// events (at most AlarmWindow of them).
type AlarmSummary struct {
	Count    uint64 `json:"count"`
	LastKind string `json:"last_kind,omitempty"`
	LastTime string `json:"last_time,omitempty"`
}

// AlarmWindow is how many of a camera's newest audit events
// CameraStatus.Alarms looks at.
const AlarmWindow = 500

// PairRelayRequest is POST /pairings/relay's body: a pairing code and the
// owner's signature of the imprint it implies (camera from the code, hub
// this one), which the hub relays to the camera because a browser cannot
// open the camera's pinned-TLS pairing port (SPEC §12.3).
type PairRelayRequest struct {
	Code     string `json:"code"`      // CCPAIR1:…, as the camera shows it
	Domain   uint64 `json:"domain"`    // EIP-712 domain of owner_sig: 1 or 2
	Owner    string `json:"owner"`     // must be the caller
	Epoch    uint64 `json:"epoch"`     // the imprint's epoch
	Nonce    string `json:"nonce"`     // decimal uint64
	Expiry   uint64 `json:"expiry"`    // Unix seconds
	OwnerSig string `json:"owner_sig"` // 0x hex, 65 bytes
	// EncryptionTx is the owner's signed Encryption policy for this
	// imprint (0x hex wire bytes; its epoch and expiry the imprint's), and
	// ViewingKeyTx the owner's ViewingKey registration (required with
	// the policy on): the camera starts from them (SPEC §8, §17.4).
	EncryptionTx string `json:"encryption_tx"`
	ViewingKeyTx string `json:"viewing_key_tx,omitempty"`
}

// PairRelayResult is the camera's answer, passed through unchanged: the
// caller checks both signatures against the camera address in its code
// before it submits the imprint (POST /pairings).
type PairRelayResult struct {
	CameraSig    string `json:"camera_sig"`              // 0x hex: the camera's signature of the imprint
	CameraTLSPin string `json:"camera_tls_pin"`          // hex
	CameraPinSig string `json:"camera_tls_pin_sig"`      // 0x hex
	PendingReset string `json:"pending_reset,omitempty"` // 0x hex of a camera-signed Reset the ledger has not seen
}

// Timeline is GET /api/v1/devices/{camera}/timeline: one stream's
// recordings in a time window, as spans of consecutive segments that share
// one state, the gaps between them and the camera's alarms in the window.
// Every segment overlapping the window is in exactly one span.
type Timeline struct {
	Camera string          `json:"camera"`
	Epoch  uint64          `json:"epoch"`
	Stream string          `json:"stream"` // "main" or "sub" (?stream=)
	From   string          `json:"from"`   // the window served, RFC 3339 with nanoseconds (from may be later than asked: a viewer's history_from)
	To     string          `json:"to"`
	Live   bool            `json:"live"` // the camera's session for this stream is connected now
	Spans  []TimelineSpan  `json:"spans"`
	Gaps   []TimelineGap   `json:"gaps"`
	Alarms []TimelineAlarm `json:"alarms"`
	// AlarmsTruncated says the window holds more alarms than a response
	// carries (the newest are kept); ask for a shorter window.
	AlarmsTruncated bool `json:"alarms_truncated,omitempty"`
	// Next, when present, is the `from` of the next page: the window's
	// spans did not fit in `limit`.
	Next string `json:"next,omitempty"`
}

// TimelineSpan is a run of consecutive segments (seq first_seq..last_seq)
// with no gap between them and the same state.
type TimelineSpan struct {
	Start    string  `json:"start"` // the first segment's start, RFC 3339 with nanoseconds
	End      string  `json:"end"`   // the last segment's end
	FirstSeq uint64  `json:"first_seq"`
	LastSeq  uint64  `json:"last_seq"`
	Segments uint64  `json:"segments"`
	Bytes    uint64  `json:"bytes"`
	Seconds  float64 `json:"seconds"` // the segments' summed durations
	// State is every segment's: "verified", "pending", "failed" (as
	// Recording.Integrity), "pruned" (retention deleted the files) or
	// "missing" (the files are gone though retention did not delete them).
	State string `json:"state"`
	// Checkpoint, for a verified or failed span, is the ledger checkpoint
	// that decided it (one per span: a span ends where the next segment's
	// checkpoint differs).
	Checkpoint *TimelineCheckpoint `json:"checkpoint,omitempty"`
}

// TimelineCheckpoint names the ledger checkpoint covering a span: where
// and when it was committed.
type TimelineCheckpoint struct {
	Index  uint64 `json:"index"`  // its position among the epoch's checkpoints (0-based)
	Height uint64 `json:"height"` // the block that committed it
	Time   string `json:"time"`   // that block's time, RFC 3339
	TxHash string `json:"tx_hash"`
}

// TimelineGap is a stretch with no recording between two segments.
type TimelineGap struct {
	Start     string  `json:"start"` // when after_seq's segment ended
	End       string  `json:"end"`   // when before_seq's segment started
	Seconds   float64 `json:"seconds"`
	AfterSeq  uint64  `json:"after_seq"`
	BeforeSeq uint64  `json:"before_seq"`
}

// TimelineAlarm is one of the camera's alarms on the ledger (an audit
// event whose kind is an alarm), at its block's time.
type TimelineAlarm struct {
	Time   string `json:"time"` // RFC 3339, the block's time
	Kind   string `json:"kind"`
	Detail string `json:"detail"`
	Seq    uint64 `json:"event_seq"` // the audit event's seq (GET /api/v1/audit)
	TxHash string `json:"tx_hash"`
}

// ValidatorSet is GET /api/v1/validators: the ledger's validator set, the
// number of changes applied since genesis (the epoch a SetValidator vote
// names), and the open proposals to change it (docs/SPEC.md §3.6).
type ValidatorSet struct {
	Epoch      uint64              `json:"epoch"`
	TotalPower uint64              `json:"total_power"`
	Validators []Validator         `json:"validators"`
	Proposals  []ValidatorProposal `json:"proposals"`
}

// Validator is one validator: its hub and its CometBFT key.
type Validator struct {
	Hub          string `json:"hub"`
	ValidatorKey string `json:"validator_key"` // ed25519 public key, 0x hex
	Power        uint64 `json:"power"`
}

// ValidatorProposal is one open change and its voters so far.
type ValidatorProposal struct {
	ID           string   `json:"id"`
	Hub          string   `json:"hub"`
	ValidatorKey string   `json:"validator_key"`
	Power        uint64   `json:"power"` // 0: remove
	Opened       string   `json:"opened"`
	Voters       []string `json:"voters"`
	VotedPower   uint64   `json:"voted_power"`
}

// HistoryUpload is POST /api/v1/devices/{camera}/history-keys: a history
// envelope (docs/SPEC.md §17.6) the owner's client made.
type HistoryUpload struct {
	Envelope string `json:"envelope"` // the wire bytes, 0x hex
}

// HistoryEnvelope is one history envelope the hub holds: past keys of the
// camera re-wrapped by its owner to a grantee (SPEC §17.6).
type HistoryEnvelope struct {
	Camera   string `json:"camera"`
	Epoch    uint64 `json:"epoch"`
	Viewer   string `json:"viewer"`
	Keys     int    `json:"keys"`     // how many keys it re-wraps
	Hash     string `json:"hash"`     // SHA-256 of the wire bytes
	Envelope string `json:"envelope"` // the wire bytes, 0x hex
}
