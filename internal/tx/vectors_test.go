package tx

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/camchain/camchain/internal/keys"
)

var update = flag.Bool("update", false, "rewrite testdata/vectors.json and the fuzz seed corpus")

// vectorFile is testdata/vectors.json: golden transactions another
// implementation can check itself against (docs/SPEC.md §2).
type vectorFile struct {
	Comment string            `json:"comment"`
	ChainID uint64            `json:"chain_id"`
	Domain  Domain            `json:"domain"`         // EIP-712 domain version = envelope version
	Salt    string            `json:"salt,omitempty"` // domain v2: keccak256("camchain-<chain_id>")
	Keys    map[string]string `json:"private_keys"`   // name → 0x scalar (test keys only!)
	Valid   []validVector     `json:"valid"`
	Invalid []invalidVector   `json:"invalid"`
}

type validVector struct {
	Type      string          `json:"type"`
	Signers   []string        `json:"signers"` // key names, in signature order
	TypedData json.RawMessage `json:"typed_data"`
	Digest    string          `json:"eip712_digest"`
	Wire      string          `json:"wire"`
	TxHash    string          `json:"tx_hash"` // SHA-256 of wire, CometBFT's tx hash
}

type invalidVector struct {
	Name   string `json:"name"`
	Wire   string `json:"wire"`
	Expect string `json:"expect"` // encoding | version | unknown_type | bad_signature | other_signer
}

// vectorPaths are the vector files, one per EIP-712 domain.
var vectorPaths = map[Domain]string{
	DomainV1: filepath.Join("testdata", "vectors.json"),
	DomainV2: filepath.Join("testdata", "vectors_v2.json"),
}

func vectorKeys(t testing.TB) (map[string]*keys.PrivateKey, map[string]string) {
	ks := map[string]*keys.PrivateKey{}
	hexes := map[string]string{}
	for i, name := range []string{"owner", "camera", "hub"} {
		b := bytes.Repeat([]byte{byte(i + 1)}, 32)
		k, err := keys.FromBytes(b)
		if err != nil {
			t.Fatal(err)
		}
		ks[name] = k
		hexes[name] = "0x" + hex.EncodeToString(b)
	}
	return ks, hexes
}

func buildVectors(t testing.TB, dom Domain) vectorFile {
	ks, hexes := vectorKeys(t)
	const chain = 4242
	vf := vectorFile{
		Comment: fmt.Sprintf("camchain transaction vectors, EIP-712 domain v%d; see docs/SPEC.md §2. Regenerate: go test ./internal/tx -run TestVectors -update", dom),
		ChainID: chain, Domain: dom, Keys: hexes,
	}
	if dom == DomainV2 {
		salt := LedgerSalt(chain)
		vf.Salt = "0x" + hex.EncodeToString(salt[:])
	}
	msgs := sampleMsgs(ks["camera"].Address(), ks["owner"].Address(), ks["hub"].Address())
	var firstWire []byte
	for _, m := range msgs {
		names := []string{"owner"}
		switch m.Type() {
		case TypeImprint:
			names = []string{"owner", "camera"}
		case TypeReset, TypeCheckpoint, TypeSubCheckpoint:
			names = []string{"camera"}
		case TypeAudit, TypeLoginBatch, TypeSetValidator:
			names = []string{"hub"}
		}
		var signers []*keys.PrivateKey
		for _, n := range names {
			signers = append(signers, ks[n])
		}
		signed, err := SignIn(dom, chain, m, signers...)
		if err != nil {
			t.Fatal(err)
		}
		wire, err := signed.Encode()
		if err != nil {
			t.Fatal(err)
		}
		if firstWire == nil && m.Type() == TypeReset {
			firstWire = wire
		}
		d, _ := DigestIn(dom, chain, m)
		td, _ := WalletJSONIn(dom, chain, m)
		sum := sha256sum(wire)
		vf.Valid = append(vf.Valid, validVector{Type: string(m.Type()), Signers: names, TypedData: td,
			Digest: "0x" + hex.EncodeToString(d[:]), Wire: "0x" + hex.EncodeToString(wire), TxHash: "0x" + hex.EncodeToString(sum[:])})
	}
	// Systematic corruptions of one valid transaction (a Reset).
	w := firstWire
	mut := func(f func(b []byte) []byte) string {
		return "0x" + hex.EncodeToString(f(append([]byte(nil), w...)))
	}
	other := DomainV1
	if dom == DomainV1 {
		other = DomainV2
	}
	vf.Invalid = []invalidVector{
		// The same message and signature under the other domain's envelope
		// version: well-formed, but the signature recovers to someone else.
		{fmt.Sprintf("relabelled as domain v%d", other), mut(func(b []byte) []byte { b[1] = byte(other); return b }), "other_signer"},
		{"trailing zero byte", mut(func(b []byte) []byte { return append(b, 0) }), "encoding"},
		{"last byte cut", mut(func(b []byte) []byte { return b[:len(b)-1] }), "encoding"},
		{"empty", "0x", "encoding"},
		{"version 3", mut(func(b []byte) []byte { b[1] = 0x03; return b }), "version"},
		{"version 0", mut(func(b []byte) []byte { b[1] = 0x00; return b }), "version"},
		{"envelope not an array", mut(func(b []byte) []byte { b[0] = 0xa5; return b }), "encoding"},
		{"type renamed", mut(func(b []byte) []byte { return bytes.Replace(b, []byte("Reset"), []byte("Rezet"), 1) }), "unknown_type"},
		{"non-minimal version integer", mut(func(b []byte) []byte { return append([]byte{b[0], 0x18, 0x01}, b[2:]...) }), "encoding"},
		{"indefinite-length array", mut(func(b []byte) []byte { return append(append([]byte{0x9f}, b[1:]...), 0xff) }), "encoding"},
		{"signature 64 bytes", mut(func(b []byte) []byte {
			i := bytes.LastIndex(b, []byte{0x58, 0x41})
			out := append(b[:i:i], 0x58, 0x40)
			return append(out, b[i+2:len(b)-1]...)
		}), "encoding"},
		// The same signature with v = 0/1 instead of 27/28: well-formed
		// bytes, but the second encoding SPEC §1 refuses.
		{"signature v as 0/1", mut(func(b []byte) []byte { b[len(b)-1] -= 27; return b }), "bad_signature"},
	}
	return vf
}

func TestVectors(t *testing.T) {
	for _, dom := range []Domain{DomainV1, DomainV2} {
		t.Run(fmt.Sprintf("domain-v%d", dom), func(t *testing.T) { testVectors(t, dom) })
	}
}

func testVectors(t *testing.T, dom Domain) {
	path := vectorPaths[dom]
	if *update {
		vf := buildVectors(t, dom)
		b, _ := json.MarshalIndent(vf, "", "  ")
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		writeSeedCorpus(t, vf)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var vf vectorFile
	if err := json.Unmarshal(b, &vf); err != nil {
		t.Fatal(err)
	}
	ks, _ := vectorKeys(t)
	if vf.Domain != dom {
		t.Fatalf("%s holds domain v%d vectors, want v%d", path, vf.Domain, dom)
	}
	if len(vf.Valid) != len(AllTypes()) {
		t.Fatalf("%d valid vectors, want one per type (%d)", len(vf.Valid), len(AllTypes()))
	}
	for _, v := range vf.Valid {
		wire, _ := hex.DecodeString(v.Wire[2:])
		got, err := Decode(wire)
		if err != nil {
			t.Fatalf("%s: %v", v.Type, err)
		}
		if got.Domain != dom {
			t.Fatalf("%s: decoded domain v%d, want v%d", v.Type, got.Domain, dom)
		}
		d, _ := got.Digest()
		if "0x"+hex.EncodeToString(d[:]) != v.Digest {
			t.Errorf("%s: digest %x, vector %s", v.Type, d, v.Digest)
		}
		who, err := got.Signers()
		if err != nil {
			t.Fatal(err)
		}
		for i, n := range v.Signers {
			if who[i] != ks[n].Address() {
				t.Errorf("%s: signer %d is %s, want %s", v.Type, i, who[i].Hex(), n)
			}
		}
		// Signing is deterministic (RFC 6979): re-signing gives the same bytes.
		var signers []*keys.PrivateKey
		for _, n := range v.Signers {
			signers = append(signers, ks[n])
		}
		again, _ := SignIn(dom, vf.ChainID, got.Msg, signers...)
		w2, _ := again.Encode()
		if !bytes.Equal(w2, wire) {
			t.Errorf("%s: re-encoding differs from the vector", v.Type)
		}
		td, _ := WalletJSONIn(dom, vf.ChainID, got.Msg)
		if !jsonEqual(td, v.TypedData) {
			t.Errorf("%s: typed data differs from the vector", v.Type)
		}
	}
	want := map[string]error{"encoding": ErrEncoding, "version": ErrVersion, "unknown_type": ErrUnknownType,
		"bad_signature": keys.ErrBadSignature}
	for _, v := range vf.Invalid {
		wire, _ := hex.DecodeString(v.Wire[2:])
		got, err := Decode(wire)
		var who []keys.Address
		if err == nil {
			who, err = got.Signers()
		}
		if v.Expect == "other_signer" {
			// The Reset vector is the camera's: anyone else is refused.
			if err != nil || len(who) != 1 || who[0] == ks["camera"].Address() {
				t.Errorf("%s: err %v, signers %v: want a well-formed transaction signed by someone other than the camera", v.Name, err, who)
			}
			continue
		}
		if !errors.Is(err, want[v.Expect]) {
			t.Errorf("%s: err %v, expect %s", v.Name, err, v.Expect)
		}
	}
}

func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return fmt.Sprint(x) == fmt.Sprint(y)
}

func writeSeedCorpus(t testing.TB, vf vectorFile) {
	dir := filepath.Join("testdata", "fuzz", "FuzzDecode")
	os.MkdirAll(dir, 0o755)
	prefix := ""
	if vf.Domain != DomainV1 {
		prefix = fmt.Sprintf("v%d-", vf.Domain)
	}
	add := func(name, wireHex string) {
		name = prefix + name
		b, _ := hex.DecodeString(wireHex[2:])
		content := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, v := range vf.Valid {
		add("valid-"+v.Type, v.Wire)
	}
	for i, v := range vf.Invalid {
		add(fmt.Sprintf("invalid-%02d", i), v.Wire)
	}
}

// TestGoldenResetBytes spells out the Reset vector byte by byte, as
// docs/SPEC.md §2.3 does.
func TestGoldenResetBytes(t *testing.T) {
	ks, _ := vectorKeys(t)
	cam := ks["camera"]
	signed, err := Sign(4242, &Reset{Camera: cam.Address(), Epoch: 3, Nonce: 2, Expiry: 2000000000}, cam)
	if err != nil {
		t.Fatal(err)
	}
	var want []byte
	for _, part := range [][]byte{
		{0x85},                  // array(5): the envelope
		{0x01},                  // version 1
		{0x19, 0x10, 0x92},      // chainId 4242 (uint16 argument)
		{0x65}, []byte("Reset"), // text(5) "Reset"
		{0x84},                        // message: array(4)
		{0x54}, cam.Address().Bytes(), // camera: bytes(20)
		{0x03},                          // epoch 3
		{0x02},                          // nonce 2
		{0x1a, 0x77, 0x35, 0x94, 0x00},  // expiry 2000000000 (uint32 argument)
		{0x81},                          // signatures: array(1)
		{0x58, 0x41}, signed.Sigs[0][:], // bytes(65): r ‖ s ‖ v
	} {
		want = append(want, part...)
	}
	got, _ := signed.Encode()
	if !bytes.Equal(got, want) {
		t.Fatalf("wire\n got  %x\n want %x", got, want)
	}
	if cam.Address().Hex() != "0x5050A4F4b3f9338C3472dcC01A87C76A144b3c9c" {
		t.Fatalf("camera test key address changed: %s", cam.Address().Hex())
	}
}
