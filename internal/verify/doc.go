// Package verify checks recorded clips against a camera's feed chain and
// the integrity checkpoints the camera committed to the ledger, and says of
// each clip exactly what is wrong with it: modified, truncated, inserted,
// missing (deleted), out of order, forged, or covered by a checkpoint that
// does not match (history rewritten). It is the engine of `camchain verify`.
//
// # What is trusted
//
// Nothing on the disk and nothing the hub says, except through a signature
// by the camera's key:
//
//   - A checkpoint counts only if its transaction bytes hash to the tx hash
//     the ledger lists, decode strictly (tx.Decode), are a Checkpoint for this
//     camera and epoch, and are signed by the camera (tx.Signers), so a hub
//     cannot forge one. Successive checkpoints must link: each starts after
//     the previous one's last record and carries a consistency proof
//     (RFC 9162 §2.1.4) from the previous tree to its own — the succession
//     rule, checkpoint.VerifySuccession, the ledger's own. The block height and time shown beside a
//     checkpoint are as the hub reports them; proving them needs the signed
//     block header of an evidence bundle.
//   - Records (SPEC §6) are rebuilt into the RFC 6962 tree
//     (checkpoint.Tree) and each checkpoint's root is compared with the root
//     of the tree of its size. A checkpoint's chain head, and through the
//     records' prev links every record below it, gives the hash the camera
//     committed for those sequence numbers; where a record on the disk
//     differs from that hash, the committed hash stands in for it in the
//     tree, so one replaced record is named alone instead of failing its
//     whole checkpoint.
//   - A clip is a file whose SHA-256 and size equal its record's segment
//     fields. Files are matched to records by their store name
//     (seg/<seq %016d>.mp4) and, for any other name, by content.
//
// # Verdicts
//
// Every clip file gets one Result; so does every record without a file
// when the caller passes a whole segment directory (Input.Complete). A
// clip is verified only when its bytes are its record's and a verified
// checkpoint (or the hash chain below one) proves the record. Everything
// else — including a record no checkpoint covers yet (pending) — makes
// Report.OK false. A record without a file is pruned — which does not
// make the report fail: deleting old video is what retention is for — only
// when something an attacker cannot forge allows it: on a camera's card
// the camera's signed prune statement (internal/retention, SPEC §14.1),
// checked in pruning.go, or the owner's retention policy on the
// ledger with the segment's age (Input.Policy, SPEC §14.2). The store's pruned marker is not signed, so anyone
// who can delete files can also move it: a file gone below the marker but
// not below a valid statement is pruned-early, and one gone above both is
// missing; both fail. Pruned means "gone, and the camera says retention
// did it", never "verified".
//
// # Reading the code
//
// One idea per file, in the order Verify runs them: records.go checks
// each record on its own (signature, camera, epoch, position);
// checkpoints.go each checkpoint (the listed transaction, the camera's
// signature, the succession rule); anchor.go works out, per sequence
// number, the record hash the checkpoints commit and which checkpoint
// proves each record; verdicts.go judges every record from that, and
// clips.go every clip file (and, for a whole directory, every record
// without one). log.go and files.go read the store's files, report.go
// is what comes out.
//
// Verify is a pure function of its Input. Reading a records.log (ReadLog),
// listing a segment directory and hashing files (HashClips) are separate,
// read-only helpers: verification never repairs, locks or writes anything,
// unlike store.Open.
package verify
