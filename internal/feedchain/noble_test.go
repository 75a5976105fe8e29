package feedchain

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/testutil/interop"
)

// nobleVectors is testdata/noble_vectors.json: records and acks computed
// by test/interop/feedchain.mjs with @noble/hashes and @noble/curves from
// SPEC §6.1, not by this package.
type nobleVectors struct {
	HubPrivateKey string `json:"hub_private_key"`
	HubAddress    string `json:"hub_address"`
	Cameras       []struct {
		Tag        string `json:"tag"`
		PrivateKey string `json:"private_key"`
		Address    string `json:"address"`
		Epoch      uint64 `json:"epoch"`
		Codec      string `json:"codec"`
		Records    []struct {
			Seq           uint64 `json:"seq"`
			SegmentSize   int    `json:"segment_size"`
			SegmentSHA256 string `json:"segment_sha256"`
			Start         string `json:"start"`
			Duration      string `json:"duration"`
			Body          string `json:"body"`
			Hash          string `json:"hash"`
			Sig           string `json:"sig"`
			Record        string `json:"record"`
			AckDigest     string `json:"ack_digest"`
			AckSig        string `json:"ack_sig"`
		} `json:"records"`
	} `json:"cameras"`
}

const nobleVectorsPath = "testdata/noble_vectors.json"

// nobleSegment is the script's segment i of camera tag: the line
// "camchain noble segment TAG I\n" repeated to size bytes.
func nobleSegment(tag string, i uint64, size int) []byte {
	unit := []byte(fmt.Sprintf("camchain noble segment %s %d\n", tag, i))
	out := make([]byte, size)
	for o := range out {
		out[o] = unit[o%len(unit)]
	}
	return out
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("vector hex %q: %v", s, err)
	}
	return b
}

// camchain builds, hashes, signs, encodes and parses every record exactly
// as the independent implementation did, and its acknowledgements too;
// each signature verifies here, and a record one bit off does not.
func TestNobleVectors(t *testing.T) {
	raw, err := os.ReadFile(nobleVectorsPath)
	if err != nil {
		t.Fatal(err)
	}
	var v nobleVectors
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	hub, err := keys.FromBytes(unhex(t, v.HubPrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(hub.Address().Bytes()); got != v.HubAddress {
		t.Fatalf("hub address %s, noble %s", got, v.HubAddress)
	}
	n := 0
	for _, c := range v.Cameras {
		k, err := keys.FromBytes(unhex(t, c.PrivateKey))
		if err != nil {
			t.Fatal(err)
		}
		if got := hex.EncodeToString(k.Address().Bytes()); got != c.Address {
			t.Fatalf("camera %s: address %s, noble %s", c.Tag, got, c.Address)
		}
		head := Head{}
		for _, want := range c.Records {
			seg := nobleSegment(c.Tag, want.Seq, want.SegmentSize)
			start, err1 := strconv.ParseInt(want.Start, 10, 64)
			dur, err2 := strconv.ParseInt(want.Duration, 10, 64)
			if err1 != nil || err2 != nil {
				t.Fatalf("vector times %q %q", want.Start, want.Duration)
			}
			r := &Record{Camera: k.Address(), Epoch: c.Epoch, Seq: want.Seq, Segment: SegmentHash(seg),
				Start: start, Duration: time.Duration(dur), Size: uint64(len(seg)), Codec: c.Codec}
			if head.Valid {
				r.Prev = head.Hash
			}
			if err := r.Sign(k); err != nil {
				t.Fatal(err)
			}
			name := fmt.Sprintf("camera %s record #%d", c.Tag, want.Seq)
			h := r.Hash()
			for _, f := range []struct{ what, got, want string }{
				{"segment SHA-256", hex.EncodeToString(r.Segment[:]), want.SegmentSHA256},
				{"body", hex.EncodeToString(r.Body()), want.Body},
				{"hash", hex.EncodeToString(h[:]), want.Hash},
				{"signature", hex.EncodeToString(r.Sig[:]), want.Sig},
				{"record", hex.EncodeToString(r.Marshal()), want.Record},
			} {
				if f.got != f.want {
					t.Errorf("%s: %s\n ours  %s\n noble %s", name, f.what, f.got, f.want)
				}
			}
			// The independent encoding parses and verifies here, in the chain.
			p, err := Parse(unhex(t, want.Record))
			if err != nil {
				t.Fatalf("%s: parse noble's record: %v", name, err)
			}
			if err := Verify(p); err != nil {
				t.Fatalf("%s: noble's signature: %v", name, err)
			}
			if err := VerifyNext(k.Address(), c.Epoch, head, p); err != nil {
				t.Fatalf("%s: chain: %v", name, err)
			}
			if err := VerifySegment(p, seg); err != nil {
				t.Fatalf("%s: segment: %v", name, err)
			}
			bad := unhex(t, want.Record)
			bad[len(bad)-70] ^= 1 // a byte of the codec or size, under the signature
			if q, err := Parse(bad); err == nil && Verify(q) == nil {
				t.Fatalf("%s: a record one bit off verifies", name)
			}
			// The hub's acknowledgement of it.
			if got := AckDigest(k.Address(), c.Epoch, want.Seq, p.Hash()); hex.EncodeToString(got[:]) != want.AckDigest {
				t.Errorf("%s: ack digest %x, noble %s", name, got, want.AckDigest)
			}
			ack, err := SignAck(hub, k.Address(), c.Epoch, want.Seq, p.Hash())
			if err != nil {
				t.Fatal(err)
			}
			if hex.EncodeToString(ack.Sig[:]) != want.AckSig {
				t.Errorf("%s: ack signature %x, noble %s", name, ack.Sig, want.AckSig)
			}
			var nobleAck keys.Signature
			copy(nobleAck[:], unhex(t, want.AckSig))
			if err := VerifyAck(hub.Address(), p, Ack{Camera: k.Address(), Epoch: c.Epoch, Seq: want.Seq, Head: p.Hash(), Sig: nobleAck}); err != nil {
				t.Fatalf("%s: noble's ack: %v", name, err)
			}
			head = HeadOf(p)
			n++
		}
	}
	if n < 6 {
		t.Fatalf("only %d records in %s", n, nobleVectorsPath)
	}
}

// The committed vectors are the independent script's output, byte for
// byte: they were not written (or touched up) by camchain's code.
func TestNobleVectorsAreTheScriptsOutput(t *testing.T) {
	want, err := os.ReadFile(nobleVectorsPath)
	if err != nil {
		t.Fatal(err)
	}
	got := interop.Node(t, "feedchain.mjs", "@noble/curves", nil)
	if !bytes.Equal(got, want) {
		t.Fatalf("node test/interop/feedchain.mjs no longer prints %s (regenerate it with the command in its comment, and say why in the commit)", nobleVectorsPath)
	}
}
