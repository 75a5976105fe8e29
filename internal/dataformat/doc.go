// Package dataformat is the one rule for a data directory's version: its
// FORMAT file, "<name> <version>\n" (docs/SPEC.md §18). A program opens a
// directory only at the version it writes; an older one is migrated,
// step by step, crash-safely and with a backup of what each step changes;
// a newer one — written by a later release — is refused with an error
// that says so, instead of being misread or overwritten.
//
// A migration step is crash-safe by construction: before it changes
// anything it copies every path it will change into
// <dir>/backup/<name>-<from>/ (fsynced), then writes <dir>/MIGRATING
// naming the step. FORMAT is rewritten last, atomically: that is the
// commit. A start that finds MIGRATING with FORMAT still at the step's
// version restores the backup and runs the step again; with FORMAT past
// it, the step had finished and only the marker is removed. The backup is
// kept, for the owner to delete once the new release is trusted.
package dataformat
