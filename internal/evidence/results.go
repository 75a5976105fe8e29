package evidence

import (
	"fmt"
	"iter"
)

// Results are the results of every transaction of one block, in block
// order: the fields CometBFT hashes into LastResultsHash. A bundle keeps
// them in their canonical encoding rather than as a []TxResult: a typical
// result is 5 bytes of CBOR and would be 48 bytes of Go, and a hostile
// bundle of nothing but results must not cost its reader ten times its
// size (docs/SPEC.md §10.5).
//
// The zero Results is an empty list. Results are immutable; a TxResult's
// Data from All shares the list's memory and must not be modified.
type Results struct {
	n   int
	enc []byte // the n results' canonical encodings, one after the other
}

// NewResults keeps rs in a bundle's form.
func NewResults(rs []TxResult) (Results, error) {
	var enc []byte
	for i := range rs {
		b, err := encMode.Marshal(&rs[i])
		if err != nil {
			return Results{}, fmt.Errorf("evidence: encode result %d: %w", i, err)
		}
		enc = append(enc, b...)
	}
	return Results{n: len(rs), enc: enc}, nil
}

// Len is the number of results.
func (r Results) Len() int { return r.n }

// All yields each result with its index, in block order.
func (r Results) All() iter.Seq2[int, TxResult] {
	return func(yield func(int, TxResult) bool) {
		d := decoder{b: r.enc}
		for i := range r.n {
			t, err := d.result()
			if err != nil {
				// enc is only ever built by NewResults or by Decode, which
				// checked every result.
				panic("evidence: results encoding corrupted: " + err.Error())
			}
			if !yield(i, t) {
				return
			}
		}
	}
}

// At is result i (0 ≤ i < Len()), found by reading the results before it.
func (r Results) At(i int) TxResult {
	for j, t := range r.All() {
		if j == i {
			return t
		}
	}
	panic(fmt.Sprintf("evidence: result %d of %d", i, r.n))
}

// List returns the results as a slice (a copy the caller may modify).
func (r Results) List() []TxResult {
	out := make([]TxResult, 0, r.n)
	for _, t := range r.All() {
		t.Data = append([]byte(nil), t.Data...)
		out = append(out, t)
	}
	return out
}

// MarshalCBOR writes the results as the CBOR array a bundle carries.
func (r Results) MarshalCBOR() ([]byte, error) {
	out := appendHead(make([]byte, 0, 9+len(r.enc)), majorArray, uint64(r.n))
	return append(out, r.enc...), nil
}
