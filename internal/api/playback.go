package api

// Playback (docs/SPEC.md §15.5). GET /devices/{camera}/play is a
// WebSocket: the hub's text messages are these JSON objects, its binary
// messages viewchain frames (segment, end).

// PlayStart is the hub's first text message on a playback socket.
type PlayStart struct {
	Type    string `json:"type"` // "start"
	Session string `json:"session"`
	Nonce   string `json:"nonce"`
	Hub     string `json:"hub"`
	Camera  string `json:"camera"`
	Epoch   uint64 `json:"epoch"`
	Stream  string `json:"stream"` // "main" or "sub"
	Live    bool   `json:"live"`   // follows new segments as they arrive
	From    string `json:"from,omitempty"`
	To      string `json:"to,omitempty"`
	// Parts: the session sends the open segment's parts (SPEC §15.5);
	// only when asked (parts=1) and live.
	Parts bool `json:"parts,omitempty"`
}

// PlayCodec comes before the first segment and again whenever the codec
// changes: what a player needs to decide whether it can play the stream.
type PlayCodec struct {
	Type  string `json:"type"`  // "codec"
	Codec string `json:"codec"` // the record's RFC 6381 codecs value
	// Mime is the MSE type: video/mp4; codecs="…".
	Mime string `json:"mime"`
	// Video is the video codec by name: "H.264" or "H.265" (or the codec
	// value itself when neither). A browser without H.265 (Debian's
	// Chromium) must say so, not fail silently.
	Video string `json:"video"`
}
