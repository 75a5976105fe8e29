// Package export is camchain's verifiable video export (docs/SPEC.md
// §14.5): the clips of an evidence bundle joined into MP4 files that
// ordinary players read, keeping every segment's bytes, and the check that
// such a file is, second by second, what the camera recorded and committed
// to the ledger.
//
// A recorded segment is a self-contained fragmented MP4 (an init section,
// ftyp and moov, then one fragment, moof and mdat, or several when the agent
// streamed parts; internal/media). An
// export file is the first segment of a part whole, then only the fragment
// of each following one: the init section is the same for all of them, so
// the file is one ordinary fragmented MP4, and segment i is exactly the
// file's init section followed by its fragment — the bytes the camera
// hashed. A segment whose init section differs (the camera changed its
// parameter sets) or whose decode time does not follow (the agent
// restarted) starts the next part: clip.mp4, clip-2.mp4, …
//
// The evidence file beside it (clip.mp4.evidence) is the bundle the hub
// served with the segment bytes left out (they are in the video): records,
// inclusion proofs, checkpoints and the ledger's proofs of them. Verify
// cuts the video back into segments by the sizes the signed records give,
// puts them back into the bundle and checks every clip, naming the exact
// seconds that fail; the bundle rebuilt so is byte for byte the one the
// hub served, whose SHA-256 the hub filed on the ledger when it served it
// (hub/evidence-export, chain of custody).
package export
