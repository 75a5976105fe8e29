package ledger

import (
	"bytes"
	"reflect"
	"testing"
)

// TestDeviceMemoIsTheDecoding: the memo answers what decoding the same
// bytes answers, every time, whatever an earlier caller did to its copy
// (grants changed and removed in place); a corrupt record is refused
// every time; past its bound it starts over.
func TestDeviceMemoIsTheDecoding(t *testing.T) {
	var m deviceMemo
	a, b := [20]byte{1}, [20]byte{2}
	devs := []Device{
		{Camera: a},
		{Camera: a, Owner: b, Epoch: 3, CheckpointPeriod: 3600, Grants: []GrantRecord{{Viewer: b, ValidUntil: 9}, {Viewer: a, HistoryFrom: 4}}},
		{Camera: b, Grants: []GrantRecord{}, LastRoot: [32]byte{7}},
	}
	for range 3 {
		for _, want := range devs {
			enc := encodeValue(&want)
			var ref Device
			if err := decodeValue(enc, &ref); err != nil {
				t.Fatal(err)
			}
			got, err := m.decode(enc)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(encodeValue(got), enc) || !reflect.DeepEqual(*got, ref) {
				t.Fatalf("memo gave %+v, decoding gives %+v", *got, ref)
			}
			// What a rule does to its copy.
			got.Epoch++
			if len(got.Grants) > 0 {
				got.Grants[0].ValidUntil = 1
				got.Grants = append(got.Grants[:0], got.Grants[1:]...)
			}
		}
	}
	bad := encodeValue(&devs[1])
	bad = bad[:len(bad)-3]
	for range 2 {
		if _, err := m.decode(bad); err == nil {
			t.Fatal("a truncated record decoded")
		}
	}
	for i := range maxDeviceMemo + 10 {
		d := Device{Camera: a, Epoch: uint64(i)}
		if got, err := m.decode(encodeValue(&d)); err != nil || got.Epoch != uint64(i) {
			t.Fatal(got, err)
		}
	}
	if len(m.m) > maxDeviceMemo {
		t.Fatalf("memo holds %d records", len(m.m))
	}
}
