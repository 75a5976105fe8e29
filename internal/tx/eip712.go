package tx

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/common/math"
	"github.com/ethereum/go-ethereum/crypto"
)

// Domain names the EIP-712 domain a message is signed in (SPEC §2.1).
// Both separate one camchain ledger from another (and from every EVM
// chain, since the name differs):
//
//   - DomainV1 {name "camchain", version "1", chainId n}: what camchain's
//     own signers use.
//   - DomainV2 {name "camchain", version "2", salt keccak256("camchain-<n>")}:
//     the same binding without a chainId, for browser wallets, which refuse
//     eth_signTypedData_v4 whose domain chainId is not their active chain
//     (and a camchain ledger is no chain a wallet can switch to).
//
// A transaction's envelope version is its domain (§2.3).
type Domain uint64

const (
	DomainV1 Domain = 1
	DomainV2 Domain = 2
)

// DomainName is the EIP-712 domain name of every version.
const DomainName = "camchain"

// DomainVersion is the v1 domain's version string (kept for callers that
// name it).
const DomainVersion = "1"

// Valid reports whether d is a domain this code signs and verifies in.
func (d Domain) Valid() bool { return d == DomainV1 || d == DomainV2 }

func (d Domain) orV1() Domain {
	if d == 0 {
		return DomainV1
	}
	return d
}

// eip712Field is one member of an EIP-712 struct type: its name and type
// ("address", "uint64", "bytes32", "string" or "bytes"; "uint256" in the
// domain). It marshals as eth_signTypedData_v4's types do.
type eip712Field struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

var domainTypes = map[Domain][]eip712Field{
	DomainV1: {
		{Name: "name", Type: "string"},
		{Name: "version", Type: "string"},
		{Name: "chainId", Type: "uint256"},
	},
	DomainV2: {
		{Name: "name", Type: "string"},
		{Name: "version", Type: "string"},
		{Name: "salt", Type: "bytes32"},
	},
}

// LedgerSalt is the v2 domain's salt for the ledger whose EIP-712 chain id
// is n: keccak256 of its CometBFT chain id string "camchain-<n>" (§2.1).
func LedgerSalt(evmChainID uint64) feedchain.Hash {
	var h feedchain.Hash
	copy(h[:], crypto.Keccak256([]byte("camchain-"+strconv.FormatUint(evmChainID, 10))))
	return h
}

// eip712Types holds, per message type, the immutable EIP-712 type list.
var eip712Types = func() map[Type][]eip712Field {
	out := make(map[Type][]eip712Field)
	for _, t := range AllTypes() {
		var ts []eip712Field
		for _, f := range newMsg(t).fields() {
			ts = append(ts, eip712Field{Name: f.name, Type: f.typ})
		}
		out[t] = ts
	}
	// Signed messages that are not ledger transactions.
	for _, m := range []Msg{&Resync{}} {
		var ts []eip712Field
		for _, f := range m.fields() {
			ts = append(ts, eip712Field{Name: f.name, Type: f.typ})
		}
		out[m.Type()] = ts
	}
	return out
}()

func uint256(v uint64) *math.HexOrDecimal256 {
	return (*math.HexOrDecimal256)(new(big.Int).SetUint64(v))
}

// Digest is the EIP-712 signing digest of m on chain chainID in the v1
// domain: keccak256(0x19 ‖ 0x01 ‖ domainSeparator ‖ hashStruct(m)).
func Digest(evmChainID uint64, m Msg) (feedchain.Hash, error) {
	return DigestIn(DomainV1, evmChainID, m)
}

// DigestIn is the EIP-712 signing digest of m in domain d.
func DigestIn(dom Domain, evmChainID uint64, m Msg) (feedchain.Hash, error) {
	if !dom.orV1().Valid() {
		return feedchain.Hash{}, fmt.Errorf("%w: EIP-712 domain version %d", ErrVersion, dom)
	}
	return digestOf(dom.orV1(), evmChainID, string(m.Type()), m.fields())
}

// digestOf is keccak256(0x19 ‖ 0x01 ‖ domainSeparator ‖ hashStruct) of the
// struct name{fields} in domain d.
func digestOf(d Domain, evmChainID uint64, name string, fields []field) (feedchain.Hash, error) {
	sep := domainSeparator(d, evmChainID)
	st, err := hashStruct(name, fields)
	if err != nil {
		return feedchain.Hash{}, fmt.Errorf("eip-712 hash of %s: %w", name, err)
	}
	var h feedchain.Hash
	copy(h[:], crypto.Keccak256([]byte{0x19, 0x01}, sep[:], st[:]))
	return h, nil
}

// The EIP-712 encoding of our messages, written out for the few types they
// use (flat structs of address, uint64, bytes32, string and bytes members:
// no arrays, no nested structs). It is exactly what go-ethereum's
// signer/core/apitypes computes (eip712_test.go holds the two side by side
// on every vector and on random values), without linking that package
// into the camera agent.

// domainSeparator is hashStruct(EIP712Domain) of domain d (§2.1). Each
// domain keeps the last separator it computed: a ledger checks almost only
// transactions of its own chain id, so recomputing it (four Keccak-256s)
// for every digest was a third of the cost of a digest. One entry per
// domain, whatever chain ids transactions name: nothing a sender chooses
// grows it.
func domainSeparator(d Domain, evmChainID uint64) [32]byte {
	last := &lastSeparator[0]
	if d == DomainV2 {
		last = &lastSeparator[1]
	}
	if c := last.Load(); c != nil && c.d == d && c.chainID == evmChainID {
		return c.sep
	}
	sep := computeDomainSeparator(d, evmChainID)
	last.Store(&cachedSeparator{d: d, chainID: evmChainID, sep: sep})
	return sep
}

type cachedSeparator struct {
	d       Domain
	chainID uint64
	sep     [32]byte
}

// lastSeparator is DomainV1's last separator, then every other domain's.
var lastSeparator [2]atomic.Pointer[cachedSeparator]

// computeDomainSeparator is domainSeparator without its cache.
func computeDomainSeparator(d Domain, evmChainID uint64) [32]byte {
	fields := []field{str("name", DomainName), str("version", strconv.FormatUint(uint64(d), 10))}
	if d == DomainV2 {
		fields = append(fields, b32("salt", LedgerSalt(evmChainID)))
	} else {
		fields = append(fields, field{"chainId", "uint256", uint256(evmChainID)})
	}
	h, err := hashStruct("EIP712Domain", fields)
	if err != nil {
		panic("tx: the EIP-712 domain does not encode: " + err.Error()) // fixed members: cannot happen
	}
	return h
}

// encodeType is EIP-712's encodeType for a struct that references no other
// struct: "Name(type1 name1,type2 name2,…)".
func encodeType(name string, fields []field) string {
	var b strings.Builder
	b.WriteString(name)
	b.WriteByte('(')
	for i, f := range fields {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(f.typ)
		b.WriteByte(' ')
		b.WriteString(f.name)
	}
	b.WriteByte(')')
	return b.String()
}

// hashStruct is keccak256(typeHash ‖ encodeData): typeHash =
// keccak256(encodeType), and each member encoded to one 32-byte word.
func hashStruct(name string, fields []field) ([32]byte, error) {
	enc := make([]byte, 32*(1+len(fields)))
	th := typeHash(encodeType(name, fields))
	copy(enc, th[:])
	for i, f := range fields {
		if err := encodeValue(enc[32*(i+1):32*(i+2)], f); err != nil {
			return [32]byte{}, fmt.Errorf("%s.%s: %w", name, f.name, err)
		}
	}
	var h [32]byte
	copy(h[:], crypto.Keccak256(enc))
	return h, nil
}

// typeHashes caches keccak256(encodeType) by encodeType. Every struct
// type comes from this package's code (the messages' fields(), the
// domains): a fixed, small set, whatever is signed. maxTypeHashes bounds
// it all the same; past it a type hash is computed each time.
var (
	typeHashes   sync.Map // string → [32]byte
	typeHashSize atomic.Int64
)

const maxTypeHashes = 256

func typeHash(encType string) [32]byte {
	if h, ok := typeHashes.Load(encType); ok {
		return h.([32]byte)
	}
	var h [32]byte
	copy(h[:], crypto.Keccak256([]byte(encType)))
	if typeHashSize.Add(1) <= maxTypeHashes {
		typeHashes.Store(encType, h)
	}
	return h
}

// encodeValue writes f's encodeData word into w (32 bytes, zero on entry):
// an address left-padded to 32 bytes, an unsigned integer as a 256-bit
// big-endian word, bytes32 as it is, string and bytes as the keccak256 of
// their bytes.
func encodeValue(w []byte, f field) error {
	switch f.typ {
	case "address":
		if a, ok := f.value.(keys.Address); ok { // what the messages' fields() give
			copy(w[12:], a[:])
			break
		}
		s, ok := f.value.(string)
		if !ok || !isHexAddress(s) {
			return fmt.Errorf("address %v is not 0x and 40 hex digits", f.value)
		}
		copy(w[12:], hexutil.MustDecode(s))
	case "uint64", "uint256":
		v, ok := f.value.(*math.HexOrDecimal256)
		if !ok || v == nil {
			return fmt.Errorf("integer %v of type %T", f.value, f.value)
		}
		n := (*big.Int)(v)
		bits := 256
		if f.typ == "uint64" {
			bits = 64
		}
		if n.Sign() < 0 || n.BitLen() > bits {
			return fmt.Errorf("%s is out of range for %s", n, f.typ)
		}
		if n.IsUint64() {
			binary.BigEndian.PutUint64(w[24:], n.Uint64())
		} else {
			n.FillBytes(w)
		}
	case "bytes32":
		b, ok := f.value.([]byte)
		if !ok || len(b) != 32 {
			return fmt.Errorf("bytes32 of %d bytes", len(b))
		}
		copy(w, b)
	case "string":
		s, ok := f.value.(string)
		if !ok {
			return fmt.Errorf("string of type %T", f.value)
		}
		copy(w, crypto.Keccak256([]byte(s)))
	case "bytes":
		b, ok := f.value.([]byte)
		if !ok {
			return fmt.Errorf("bytes of type %T", f.value)
		}
		copy(w, crypto.Keccak256(b))
	default:
		return fmt.Errorf("type %q is not one this encoder writes", f.typ)
	}
	return nil
}

// isHexAddress: "0x" (or "0X") and 40 hex digits, as apitypes accepts an
// address string.
func isHexAddress(s string) bool {
	if len(s) != 42 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X') {
		return false
	}
	for _, c := range s[2:] {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// walletDomain is the domain as JSON for wallets: no empty members
// (verifyingContract, salt or chainId), which some wallets reject.
type walletDomain struct {
	Name       string `json:"name"`
	Version    string `json:"version"`
	EVMChainID uint64 `json:"chainId,omitempty"`
	Salt       string `json:"salt,omitempty"`
}

// WalletJSON returns m as the JSON argument of eth_signTypedData_v4 in the
// v1 domain.
func WalletJSON(evmChainID uint64, m Msg) ([]byte, error) {
	return WalletJSONIn(DomainV1, evmChainID, m)
}

// WalletJSONIn returns m as the JSON argument of eth_signTypedData_v4 (what
// MetaMask, ethers' signTypedData or viem take) in domain d. Integers are
// decimal strings, so no JavaScript number loses precision.
func WalletJSONIn(d Domain, evmChainID uint64, m Msg) ([]byte, error) {
	d = d.orV1()
	dom := walletDomain{Name: DomainName, Version: strconv.FormatUint(uint64(d), 10)}
	if d == DomainV2 {
		salt := LedgerSalt(evmChainID)
		dom.Salt = hexutil.Encode(salt[:])
	} else {
		dom.EVMChainID = evmChainID
	}
	msg := map[string]any{}
	for _, f := range m.fields() {
		switch v := f.value.(type) {
		case *math.HexOrDecimal256:
			msg[f.name] = (*big.Int)(v).String()
		case []byte:
			msg[f.name] = hexutil.Bytes(v)
		case keys.Address:
			msg[f.name] = v.Hex()
		default:
			msg[f.name] = v
		}
	}
	return json.Marshal(struct {
		Types       map[string][]eip712Field `json:"types"`
		PrimaryType string                   `json:"primaryType"`
		Domain      walletDomain             `json:"domain"`
		Message     map[string]any           `json:"message"`
	}{
		Types:       map[string][]eip712Field{"EIP712Domain": domainTypes[d], string(m.Type()): eip712Types[m.Type()]},
		PrimaryType: string(m.Type()),
		Domain:      dom,
		Message:     msg,
	})
}
