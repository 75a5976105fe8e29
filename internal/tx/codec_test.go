package tx

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"

	"github.com/camchain/camchain/internal/audit"
	"github.com/camchain/camchain/internal/e2ee"
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
)

func mustKey(t testing.TB) *keys.PrivateKey {
	t.Helper()
	k, err := keys.Generate()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// sampleMsgs returns one filled-in message of every type.
func sampleMsgs(cam, owner, hub keys.Address) []Msg {
	root := feedchain.Hash{1, 2, 3}
	head := feedchain.Hash{4, 5, 6}
	return []Msg{
		&Imprint{Camera: cam, Owner: owner, Hub: hub, Epoch: 0, Nonce: 1, Expiry: 2000000000},
		&Reset{Camera: cam, Epoch: 3, Nonce: 2, Expiry: 2000000000},
		&Release{Camera: cam, Epoch: 3, Nonce: 3, Expiry: 2000000000},
		&Transfer{Camera: cam, Epoch: 3, NewOwner: hub, Nonce: 4, Expiry: 2000000000},
		&BindHub{Camera: cam, Epoch: 3, Hub: hub, Nonce: 5, Expiry: 2000000000},
		&Grant{Camera: cam, Epoch: 3, Viewer: hub, ValidUntil: 1900000000, HistoryFrom: 1700000000, Nonce: 6, Expiry: 2000000000},
		&Revoke{Camera: cam, Epoch: 3, Viewer: hub, Nonce: 7, Expiry: 2000000000},
		&SetPolicy{Camera: cam, Epoch: 3, CheckpointPeriod: 3600, Nonce: 8, Expiry: 2000000000},
		&Checkpoint{Camera: cam, Epoch: 3, PeriodStart: 1700000000, PeriodEnd: 1700003600, FirstSeq: 900, LastSeq: 1799, TreeSize: 1800, Root: root, ChainHead: head,
			Consistency: bytes.Repeat([]byte{0xc5}, 64), Nonce: 9, Expiry: 2000000000},
		&Audit{Hub: hub, Camera: cam, Kind: "hub/login", Actor: owner, Detail: "wallet login from 127.0.0.1", At: 1700000000, Nonce: 10, Expiry: 2000000000},
		&LoginBatch{Hub: hub, Seq: 7, PeriodStart: 1700000000, PeriodEnd: 1700000060, Size: 3, Root: root, Unverified: 250, Nonce: 11, Expiry: 2000000000},
		&LoginPolicy{Account: owner, Approval: ApprovalRequired, Nonce: 12, Expiry: 2000000000},
		&Retention{Camera: cam, Epoch: 3, Days: 14, Nonce: 13, Expiry: 2000000000},
		&Checkpoint{Stream: feedchain.StreamSub, Camera: cam, Epoch: 3, PeriodStart: 1700000000, PeriodEnd: 1700003600, FirstSeq: 40, LastSeq: 79,
			TreeSize: 80, Root: root, ChainHead: head, Consistency: bytes.Repeat([]byte{0x5c}, 32), Nonce: 14, Expiry: 2000000000},
		&LegalHold{Camera: cam, Epoch: 3, From: 1700000000, Until: 1700086400, Nonce: 15, Expiry: 2000000000},
		&SetValidator{Hub: owner, ValidatorKey: [32]byte{0xed, 0x25, 0x51, 0x9}, Power: 10, SetEpoch: 2, Nonce: 16, Expiry: 2000000000},
		&ViewingKey{Account: owner, KEM: e2ee.KEMID, PublicKey: sampleViewingKey(), Nonce: 17, Expiry: 2000000000},
		&Encryption{Camera: cam, Epoch: 3, On: 1, Nonce: 18, Expiry: 2000000000},
	}
}

// sampleViewingKey is the public viewing key of the vectors' owner key
// (0x0101…01; internal/e2ee/testdata/viewing_key_vectors.json).
func sampleViewingKey() []byte {
	k, err := keys.FromBytes(bytes.Repeat([]byte{1}, 32))
	if err != nil {
		panic(err)
	}
	vk, err := e2ee.Derive(k)
	if err != nil {
		panic(err)
	}
	return vk.Public().Bytes()
}

func TestRoundTripEveryType(t *testing.T) {
	a, b, c := mustKey(t), mustKey(t), mustKey(t)
	for _, m := range sampleMsgs(a.Address(), b.Address(), c.Address()) {
		signers := []*keys.PrivateKey{a}
		if SignerCount(m.Type()) == 2 {
			signers = []*keys.PrivateKey{b, a}
		}
		signed, err := Sign(77, m, signers...)
		if err != nil {
			t.Fatalf("%s: %v", m.Type(), err)
		}
		wire, err := signed.Encode()
		if err != nil {
			t.Fatal(err)
		}
		got, err := Decode(wire)
		if err != nil {
			t.Fatalf("%s: decode: %v", m.Type(), err)
		}
		again, _ := got.Encode()
		if !bytes.Equal(again, wire) {
			t.Fatalf("%s: re-encoding differs", m.Type())
		}
		who, err := got.Signers()
		if err != nil {
			t.Fatal(err)
		}
		for i, k := range signers {
			if who[i] != k.Address() {
				t.Fatalf("%s: signer %d = %s, want %s", m.Type(), i, who[i].Hex(), k.Address().Hex())
			}
		}
		// Another chain id gives another digest: a signature is chain-bound.
		d1, _ := Digest(77, m)
		d2, _ := Digest(78, m)
		if d1 == d2 {
			t.Fatalf("%s: digest does not depend on chain id", m.Type())
		}
	}
}

func TestDecodeRefuses(t *testing.T) {
	k := mustKey(t)
	good, _ := Sign(5, &Reset{Camera: k.Address(), Epoch: 1, Nonce: 9, Expiry: 2000000000}, k)
	wire, _ := good.Encode()
	body, _ := encMode.Marshal(good.Msg)
	sig := good.Sigs[0][:]
	mk := func(v uint64, typ string, msg []byte, sigs [][]byte) []byte {
		b, err := encMode.Marshal(envelope{Version: v, EVMChainID: 5, Type: typ, Msg: msg, Sigs: sigs})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	shortAddr, _ := encMode.Marshal([]any{k.Address().Bytes()[:19], 1, 9, 2000000000})
	extraField, _ := encMode.Marshal([]any{k.Address().Bytes(), 1, 9, 2000000000, 5})
	nonMinimal := append([]byte(nil), wire...)
	// Re-encode the version (first element) as a 1-byte-argument integer: 0x18 0x01.
	if nonMinimal[1] != 0x01 {
		t.Fatalf("unexpected layout %x", wire[:4])
	}
	nonMinimal = append([]byte{wire[0], 0x18, 0x01}, wire[2:]...)
	cases := []struct {
		name string
		in   []byte
		want error
	}{
		{"trailing byte", append(append([]byte(nil), wire...), 0), ErrEncoding},
		{"truncated", wire[:len(wire)-1], ErrEncoding},
		{"empty", nil, ErrEncoding},
		{"non-minimal integer", nonMinimal, ErrEncoding},
		{"version 3", mk(3, "Reset", body, [][]byte{sig}), ErrVersion},
		{"version 0", mk(0, "Reset", body, [][]byte{sig}), ErrVersion},
		{"unknown type", mk(1, "Mint", body, [][]byte{sig}), ErrUnknownType},
		{"no signature", mk(1, "Reset", body, nil), ErrEncoding},
		{"two signatures", mk(1, "Reset", body, [][]byte{sig, sig}), ErrEncoding},
		{"short signature", mk(1, "Reset", body, [][]byte{sig[:64]}), ErrEncoding},
		{"19-byte address", mk(1, "Reset", shortAddr, [][]byte{sig}), ErrEncoding},
		{"extra field", mk(1, "Reset", extraField, [][]byte{sig}), ErrEncoding},
		{"oversize", make([]byte, MaxTxBytes+1), ErrEncoding},
	}
	for _, tc := range cases {
		if _, err := Decode(tc.in); !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestAuditStringLimits(t *testing.T) {
	k := mustKey(t)
	for _, tc := range []struct {
		kind   audit.Kind
		detail string
		ok     bool
	}{
		{"hub/login", "ok", true},
		{"camera/storage-full", "ok", true},
		{"", "x", false},
		{"hub/Login", "x", false},
		{"hub/log in", "x", false},
		{"hub/", "x", false},
		{"hub/a/b", "x", false},
		// The ledger's own kinds cannot be filed (SPEC §3.1).
		{"login", "x", false},
		{"imprint", "x", false},
		{"transfer", "x", false},
		{"ledger/transfer", "x", false},
		{"camera/" + audit.Kind(strings.Repeat("a", 26)), "x", false},
		{"hub/login", string(make([]byte, MaxDetailBytes+1)), false},
		{"hub/login", "\xff", false},
	} {
		m := &Audit{Hub: k.Address(), Kind: tc.kind, Detail: tc.detail, Nonce: 1, Expiry: 2}
		body, _ := encMode.Marshal(m)
		wire, _ := encMode.Marshal(envelope{Version: 1, EVMChainID: 1, Type: "Audit", Msg: body, Sigs: [][]byte{make([]byte, 65)}})
		_, err := Decode(wire)
		if (err == nil) != tc.ok {
			t.Errorf("kind %q detail %q: err = %v, want ok=%v", tc.kind, truncate(tc.detail, 8), err, tc.ok)
		}
	}
}

func TestAddressEncodesAsByteString(t *testing.T) {
	k := mustKey(t)
	b, _ := encMode.Marshal(&Reset{Camera: k.Address(), Epoch: 1, Nonce: 2, Expiry: 3})
	var raw []any
	if err := cbor.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	if bs, ok := raw[0].([]byte); !ok || len(bs) != 20 {
		t.Fatalf("camera encoded as %T %v, want 20-byte byte string", raw[0], raw[0])
	}
}

func BenchmarkDigest(b *testing.B) {
	k := mustKey(b)
	m := sampleMsgs(k.Address(), k.Address(), k.Address())[5]
	for b.Loop() {
		if _, err := Digest(1, m); err != nil {
			b.Fatal(err)
		}
	}
}

func TestCheckpointConsistencyEncoding(t *testing.T) {
	k := mustKey(t)
	enc := func(proof any) []byte {
		body, err := encMode.Marshal([]any{k.Address().Bytes(), 0, 1, 2, 0, 0, 1, make([]byte, 32), make([]byte, 32), proof, 1, 2})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := encMode.Marshal(envelope{Version: 1, EVMChainID: 1, Type: "Checkpoint", Msg: body, Sigs: [][]byte{make([]byte, 65)}})
		return b
	}
	if _, err := Decode(enc([]byte{})); err != nil {
		t.Fatalf("empty proof as h'': %v", err)
	}
	for name, proof := range map[string]any{
		"null instead of h''":   nil,
		"31-byte proof":         make([]byte, 31),
		"65 hashes":             make([]byte, 65*32),
		"text instead of bytes": "abc",
	} {
		if _, err := Decode(enc(proof)); !errors.Is(err, ErrEncoding) {
			t.Errorf("%s: %v, want ErrEncoding", name, err)
		}
	}
}
