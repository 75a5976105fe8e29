// Package feedchain is a camera's hash chain of segment records.
//
// Every segment a camera records becomes a Record: camera, epoch, sequence
// number, the hash of the previous record, the SHA-256 of the segment's
// bytes, its start time, duration, size and codec. The camera signs each
// record. Records are linked by hash, so the chain cannot be edited,
// reordered or cut without breaking a link; the hub keeps the same chain
// and the two compare heads on every connect and acknowledgement.
//
// The format is a fixed binary layout (docs/SPEC.md §6) with golden vectors
// in testdata/. Verification functions are pure and return typed errors
// naming the sequence number and what was expected.
package feedchain
