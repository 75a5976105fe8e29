// Package retention decides which deletions of recordings count as
// retention, and carries the one signed format that says so on a camera's
// card: the prune statement (docs/SPEC.md §14).
//
// A recording whose file is gone while its record remains was either
// deleted by retention or deleted by someone else. The store's pruned
// marker says which it claims, but the marker is an unsigned file, and
// whoever can delete clips can also move it. So a deletion counts as
// retention only when something the attacker cannot forge allows it:
//
//   - on the camera's card, a prune statement signed by the camera's key,
//     which lives outside the card (<data>/keys), so a pulled card or a copy
//     of it cannot produce one;
//   - on the hub, the owner's retention policy on the ledger together with
//     the segment's age (to come: SPEC §14.2).
//
// A statement is a claim about a monotone mark — "the files of every seq
// below n are gone" — bound to the chain by the hash of record n−1, so an
// old statement replayed claims less, never more, and a statement of
// another camera, epoch or chain fails. The verifier (internal/verify)
// calls a file gone below a valid statement `pruned`, one gone below only
// the unsigned marker `pruned-early`, and one gone above both `missing`.
package retention
