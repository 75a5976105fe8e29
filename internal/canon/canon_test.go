package canon

import (
	"errors"
	"testing"
)

type pair struct {
	_ struct{} `cbor:",toarray"`
	N uint64
	B []byte
}

func TestUnmarshalAcceptsOnlyCanonical(t *testing.T) {
	enc, dec := EncMode(), DecMode(4, 16)
	good, err := enc.Marshal(&pair{N: 5})
	if err != nil {
		t.Fatal(err)
	}
	if want := []byte{0x82, 0x05, 0x40}; string(good) != string(want) {
		t.Fatalf("nil bytes encode as %x, want %x (h'' for empty)", good, want)
	}
	var p pair
	if err := Unmarshal(dec, enc, good, &p); err != nil || p.N != 5 {
		t.Fatalf("canonical input: %v %+v", err, p)
	}
	for name, in := range map[string][]byte{
		"null for empty":      {0x82, 0x05, 0xf6},
		"non-minimal integer": {0x82, 0x18, 0x05, 0x40},
		"indefinite bytes":    {0x82, 0x05, 0x5f, 0xff},
		"trailing byte":       {0x82, 0x05, 0x40, 0x00},
		"tag":                 {0x82, 0xc2, 0x05, 0x40},
	} {
		var q pair
		err := Unmarshal(dec, enc, in, &q)
		if err == nil {
			t.Errorf("%s: accepted", name)
		}
		if name == "null for empty" && !errors.Is(err, ErrNotCanonical) {
			t.Errorf("null for empty: %v, want ErrNotCanonical", err)
		}
	}
}
