package tx

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"math/big"
	"os"
	"strconv"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/common/math"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/signer/core/apitypes"

	"github.com/camchain/camchain/internal/feedchain"
)

// go-ethereum's signer/core/apitypes is the reference for eip712.go's
// encoder: these tests hold the two side by side. (A test's imports do not
// reach the camera agent's binary.)

// typedData is the struct name{fields} in domain d as apitypes' typed data:
// what eth_signTypedData_v4 takes.
func typedData(d Domain, evmChainID uint64, name string, fields []field) apitypes.TypedData {
	msg := apitypes.TypedDataMessage{}
	var types []apitypes.Type
	for _, f := range fields {
		v := f.value
		if b, ok := v.([]byte); ok {
			v = hexutil.Bytes(b)
		}
		if a, ok := v.(common.Address); ok {
			v = a.Hex() // as a wallet's JSON names it
		}
		msg[f.name] = v
		types = append(types, apitypes.Type{Name: f.name, Type: f.typ})
	}
	dom := apitypes.TypedDataDomain{Name: DomainName, Version: strconv.FormatUint(uint64(d), 10)}
	var domTypes []apitypes.Type
	for _, f := range domainTypes[d] {
		domTypes = append(domTypes, apitypes.Type{Name: f.Name, Type: f.Type})
	}
	if d == DomainV2 {
		salt := LedgerSalt(evmChainID)
		dom.Salt = hexutil.Encode(salt[:])
	} else {
		dom.ChainId = uint256(evmChainID)
	}
	return apitypes.TypedData{
		Types:       apitypes.Types{"EIP712Domain": domTypes, name: types},
		PrimaryType: name,
		Domain:      dom,
		Message:     msg,
	}
}

// apitypesDigest is apitypes' EIP-712 digest of name{fields} in domain d.
func apitypesDigest(t testing.TB, d Domain, evmChainID uint64, name string, fields []field) feedchain.Hash {
	t.Helper()
	h, _, err := apitypes.TypedDataAndHash(typedData(d, evmChainID, name, fields))
	if err != nil {
		t.Fatalf("apitypes: %s: %v", name, err)
	}
	var out feedchain.Hash
	copy(out[:], h)
	return out
}

// allSigned is every message type that is signed: the ledger's, and the
// signed messages that are not transactions.
func allSigned() []Msg {
	var ms []Msg
	for _, t := range AllTypes() {
		ms = append(ms, newMsg(t))
	}
	return append(ms, &Resync{})
}

// TestDigestMatchesApitypesOnVectors: on every committed vector (both
// domains), the encoder's digest is apitypes' — and the vector's.
func TestDigestMatchesApitypesOnVectors(t *testing.T) {
	for dom, path := range vectorPaths {
		vf := readVectorFile(t, path)
		for _, v := range vf.Valid {
			wire, _ := hex.DecodeString(v.Wire[2:])
			got, err := Decode(wire)
			if err != nil {
				t.Fatal(err)
			}
			mine, err := DigestIn(dom, vf.ChainID, got.Msg)
			if err != nil {
				t.Fatal(err)
			}
			ref := apitypesDigest(t, dom, vf.ChainID, string(got.Msg.Type()), got.Msg.fields())
			if mine != ref || "0x"+hex.EncodeToString(mine[:]) != v.Digest {
				t.Errorf("v%d %s: encoder %x, apitypes %x, vector %s", dom, v.Type, mine, ref, v.Digest)
			}
		}
	}
}

// fieldStream draws field values from fuzz or random bytes (zeros once
// they run out).
type fieldStream struct{ b []byte }

func (s *fieldStream) take(n int) []byte {
	out := make([]byte, n)
	k := copy(out, s.b)
	s.b = s.b[k:]
	return out
}

func (s *fieldStream) u64() uint64 { return binary.BigEndian.Uint64(s.take(8)) }

// randomFields gives each of fields a value drawn from s, of the member's
// type: any address, any uint64, any 32 bytes, strings and bytes of 0 to
// 255 bytes (any bytes, valid UTF-8 or not).
func randomFields(s *fieldStream, fields []field) []field {
	out := make([]field, len(fields))
	for i, f := range fields {
		out[i] = f
		switch f.typ {
		case "address":
			out[i].value = common.BytesToAddress(s.take(20)).Hex()
		case "uint64":
			out[i].value = uint256(s.u64())
		case "bytes32":
			out[i].value = s.take(32)
		case "string":
			out[i].value = string(s.take(int(s.take(1)[0])))
		case "bytes":
			out[i].value = s.take(int(s.take(1)[0]))
		default:
			panic("field type " + f.typ)
		}
	}
	return out
}

// compareOn draws a domain, chain id, message type and every member's
// value from s and checks the encoder's digest against apitypes'.
func compareOn(t *testing.T, s *fieldStream) {
	ms := allSigned()
	sel := s.take(1)[0]
	dom := DomainV1 + Domain(sel&1)
	m := ms[int(sel>>1)%len(ms)]
	chain := s.u64()
	fields := randomFields(s, m.fields())
	mine, err := digestOf(dom, chain, string(m.Type()), fields)
	if err != nil {
		t.Fatalf("%s: %v", m.Type(), err)
	}
	if ref := apitypesDigest(t, dom, chain, string(m.Type()), fields); mine != ref {
		t.Fatalf("v%d %s chain %d %v: encoder %x, apitypes %x", dom, m.Type(), chain, fields, mine, ref)
	}
}

// TestDigestMatchesApitypesOnRandomValues: every message type in both
// domains, many random chain ids and member values, and the edges (zero,
// 2^64-1, empty and long strings and bytes).
func TestDigestMatchesApitypesOnRandomValues(t *testing.T) {
	var seed [32]byte
	for i := 0; i < 2000; i++ {
		var stream []byte
		for len(stream) < 2048 {
			seed = sha256.Sum256(seed[:])
			stream = append(stream, seed[:]...)
		}
		compareOn(t, &fieldStream{stream})
	}
	for _, m := range allSigned() {
		for _, dom := range []Domain{DomainV1, DomainV2} {
			for _, fill := range []byte{0x00, 0xff} {
				s := &fieldStream{bytes.Repeat([]byte{fill}, 4096)}
				fields := randomFields(s, m.fields())
				for _, chain := range []uint64{0, 1, 7, 1<<63 + 5, ^uint64(0)} {
					mine, err := digestOf(dom, chain, string(m.Type()), fields)
					if err != nil {
						t.Fatal(err)
					}
					if ref := apitypesDigest(t, dom, chain, string(m.Type()), fields); mine != ref {
						t.Errorf("v%d %s chain %d fill %#x: encoder %x, apitypes %x", dom, m.Type(), chain, fill, mine, ref)
					}
				}
			}
		}
	}
}

// TestEncoderRefusesWhatIsNotOurs: a value that does not fit its member's
// type is an error, never a digest (the messages never make one; a wrong
// encoder must not guess).
func TestEncoderRefusesWhatIsNotOurs(t *testing.T) {
	over := (*math.HexOrDecimal256)(new(big.Int).Lsh(big.NewInt(1), 64))
	neg := (*math.HexOrDecimal256)(big.NewInt(-1))
	for _, f := range []field{
		{"a", "address", "0x1234"},
		{"a", "address", "1234567890123456789012345678901234567890ab"},
		{"a", "address", "0x12345678901234567890123456789012345678zz"},
		{"n", "uint64", over},
		{"n", "uint64", neg},
		{"n", "uint64", uint64(5)},
		{"h", "bytes32", make([]byte, 31)},
		{"s", "string", []byte("x")},
		{"b", "bytes", "x"},
		{"x", "int8", uint256(1)},
	} {
		if _, err := hashStruct("T", []field{f}); err == nil {
			t.Errorf("%s %v: encoded", f.typ, f.value)
		}
	}
}

// FuzzDigestMatchesApitypes: for any domain, chain id, message type and
// member values the fuzzer finds, the encoder's digest is apitypes'. Seeds:
// testdata/fuzz/FuzzDigestMatchesApitypes.
func FuzzDigestMatchesApitypes(f *testing.F) {
	f.Add([]byte{})
	f.Add(bytes.Repeat([]byte{0xff}, 600))
	f.Fuzz(func(t *testing.T, b []byte) { compareOn(t, &fieldStream{b}) })
}

func readVectorFile(t *testing.T, path string) vectorFile {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var vf vectorFile
	if err := json.Unmarshal(b, &vf); err != nil {
		t.Fatal(err)
	}
	return vf
}

// TestCachedDigestPartsAreTheComputedOnes: the cached domain separators
// and type hashes are what computing them gives, for both domains, across
// alternating chain ids (each domain keeps only its last one), and digests
// stay apitypes' throughout.
func TestCachedDigestPartsAreTheComputedOnes(t *testing.T) {
	for _, d := range []Domain{DomainV1, DomainV2} {
		for _, id := range []uint64{1, 7, 1, 1 << 52, 7, 7} {
			if got, want := domainSeparator(d, id), computeDomainSeparator(d, id); got != want {
				t.Fatalf("domain %d chain %d: cached separator %x, computed %x", d, id, got, want)
			}
			for _, m := range allSigned() {
				got, err := DigestIn(d, id, m)
				if err != nil {
					t.Fatal(err)
				}
				if want := apitypesDigest(t, d, id, string(m.Type()), m.fields()); got != want {
					t.Fatalf("domain %d chain %d %s: digest %x, apitypes %x", d, id, m.Type(), got, want)
				}
			}
		}
	}
	if computeDomainSeparator(DomainV1, 1) == computeDomainSeparator(DomainV1, 2) ||
		computeDomainSeparator(DomainV1, 1) == computeDomainSeparator(DomainV2, 1) {
		t.Fatal("separators of different chain ids or domains are equal")
	}
	enc := encodeType("SetPolicy", (&SetPolicy{}).fields())
	var want [32]byte
	copy(want[:], crypto.Keccak256([]byte(enc)))
	if typeHash(enc) != want || typeHash(enc) != want {
		t.Fatal("cached type hash is not keccak256(encodeType)")
	}
}

// BenchmarkSignedDigest is the EIP-712 digest of a SetPolicy (the bench's
// ledger transaction), as CheckTx's pre-verification computes it.
func BenchmarkSignedDigest(b *testing.B) {
	m := &SetPolicy{Epoch: 3, CheckpointPeriod: 3600, Nonce: 12345, Expiry: 1 << 31}
	for b.Loop() {
		if _, err := Digest(1234567, m); err != nil {
			b.Fatal(err)
		}
	}
}
