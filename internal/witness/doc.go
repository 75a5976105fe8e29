// Package witness publishes a camera's checkpoints to transparency-log
// witnesses and checks what they sign (docs/SPEC.md §16).
//
// Each camera's feed chain in one binding epoch is an RFC 6962 tree (the
// camera signs its size and root in each Checkpoint transaction). This
// package presents that tree as a C2SP transparency log:
//
//   - its checkpoint is a C2SP tlog-checkpoint body (origin, size, root)
//     in a C2SP signed note, signed by the hub with an Ed25519 log key of
//     that origin (LogKeys derives one per origin from one hub secret);
//   - the hub sends it, with an RFC 6962 consistency proof from the size
//     the witness saw last, by the C2SP tlog-witness protocol
//     (Client.AddCheckpoint);
//   - a witness that checks consistency and agrees answers with a C2SP
//     tlog-cosignature (Cosignature), which bundles carry and Verify
//     checks against a witness key the verifier trusts;
//   - a witness that holds another tree at a size (a fork) refuses, and
//     Publish returns a *ForkError for the hub to raise as an alarm.
//
// The log signature only lets the witness know the checkpoint came from
// the hub it was configured for; what a cosignature adds for a stranger
// is that someone other than the owner saw this tree, at this time, and
// every tree of this origin it saw before is a prefix of it.
package witness
