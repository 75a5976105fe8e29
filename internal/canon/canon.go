// Package canon is camchain's one definition of canonical CBOR (RFC 8949
// §4.2.1 core deterministic encoding): the encoder of every format camchain
// signs or hashes in CBOR, and the strict decoder that accepts exactly
// those bytes and nothing else (docs/SPEC.md §2.3).
package canon

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/fxamacker/cbor/v2"
)

// EncOptions are core deterministic encoding with one encoding for
// "empty": a nil slice is h” (or []), never null.
func EncOptions() cbor.EncOptions {
	opts := cbor.CoreDetEncOptions()
	opts.NilContainers = cbor.NilContainerAsEmpty
	return opts
}

// EncMode returns the canonical encoder.
func EncMode() cbor.EncMode {
	m, err := EncOptions().EncMode()
	if err != nil {
		panic("canon: cbor encoder options: " + err.Error()) // fixed options: unreachable
	}
	return m
}

// DecOptions are the strict decoder's: no duplicate map keys, no
// indefinite lengths, no tags, valid UTF-8, and the given nesting and
// array-length bounds.
func DecOptions(maxNested, maxArray int) cbor.DecOptions {
	return cbor.DecOptions{
		DupMapKey:        cbor.DupMapKeyEnforcedAPF,
		IndefLength:      cbor.IndefLengthForbidden,
		TagsMd:           cbor.TagsForbidden,
		MaxNestedLevels:  maxNested,
		MaxArrayElements: max(maxArray, 16),
		MaxMapPairs:      16,
		UTF8:             cbor.UTF8RejectInvalid,
	}
}

// DecMode returns a strict decoder.
func DecMode(maxNested, maxArray int) cbor.DecMode {
	m, err := DecOptions(maxNested, maxArray).DecMode()
	if err != nil {
		panic("canon: cbor decoder options: " + err.Error())
	}
	return m
}

// ErrNotCanonical: the bytes decode, but are not the canonical encoding
// of what they decode to (non-minimal integers or lengths, wrong-size byte
// strings the decoder would pad or cut, null for empty, …).
var ErrNotCanonical = errors.New("not in canonical form")

// Unmarshal decodes b into v with dm and requires b to be exactly the
// canonical encoding of v: one value, one byte string.
func Unmarshal(dm cbor.DecMode, enc cbor.EncMode, b []byte, v any) error {
	if err := dm.Unmarshal(b, v); err != nil {
		return err
	}
	again, err := enc.Marshal(v)
	if err != nil {
		return fmt.Errorf("re-encode: %w", err)
	}
	if !bytes.Equal(again, b) {
		return ErrNotCanonical
	}
	return nil
}
