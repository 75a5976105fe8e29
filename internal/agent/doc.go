// Package agent is camchain-agent, the program on the camera (or on a small
// box beside an RTSP camera). It cuts video into segments, chains and signs
// them, keeps them on local storage (the SD card), shows a pairing code
// while unowned, and ships segments to its one paired hub over the link.
//
// The agent must stay small: it never links the ledger engine or the web
// UI (TestAgentDoesNotLinkTheLedger).
//
// Its data directory:
//
//	FORMAT                     data-directory format version
//	state.json                 epoch, pairing (hub identity, link address, pins)
//	keys/camera/UTC--…         the camera key (v3 keystore)
//	keys/camera.passphrase     its passphrase (0600)
//	keys/link-tls.pem          the TLS key of the link and of pairing (0600)
//	pairing-code.txt           the current one-time pairing code, while unowned
//	alarms.jsonl, alarms.sent  every alarm raised; how many reached the hub
//	store/                     the chain and segments (package store)
//	control.sock               local control (reset, status)
package agent
