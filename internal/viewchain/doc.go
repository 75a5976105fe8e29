// Package viewchain is the hub's hash chain over what it forwards to one
// viewer in one playback session (docs/SPEC.md §15): the seed design's
// "the server can send the feed elsewhere on a separate chain".
//
// Every segment the hub serves in a session travels with its
// camera-signed feed-chain record and a Link: the session's id and the
// viewer's nonce, the link's index, the previous link's hash, the record's
// hash, signed by the hub. A viewer that checks each Link (Verifier) sees
// any segment dropped, reordered, replayed from this or another session,
// or substituted between hub and viewer, and a range cut short before the
// hub's signed end.
//
// The hub never parses video on this path: a Link binds the record hash,
// the record binds the segment's bytes, so the bytes may as well be
// ciphertext.
package viewchain
