package tx

import (
	"encoding/json"
	"fmt"
	"math/big"
	"strconv"

	"github.com/camchain/camchain/internal/feedchain"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/common/math"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/signer/core/apitypes"
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

var domainTypes = map[Domain][]apitypes.Type{
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
var eip712Types = func() map[Type][]apitypes.Type {
	out := make(map[Type][]apitypes.Type)
	for _, t := range AllTypes() {
		var ts []apitypes.Type
		for _, f := range newMsg(t).fields() {
			ts = append(ts, apitypes.Type{Name: f.name, Type: f.typ})
		}
		out[t] = ts
	}
	// Signed messages that are not ledger transactions.
	for _, m := range []Msg{&Resync{}} {
		var ts []apitypes.Type
		for _, f := range m.fields() {
			ts = append(ts, apitypes.Type{Name: f.name, Type: f.typ})
		}
		out[m.Type()] = ts
	}
	return out
}()

func uint256(v uint64) *math.HexOrDecimal256 {
	return (*math.HexOrDecimal256)(new(big.Int).SetUint64(v))
}

// TypedData returns m as EIP-712 typed data in the v1 domain.
func TypedData(evmChainID uint64, m Msg) apitypes.TypedData {
	return TypedDataIn(DomainV1, evmChainID, m)
}

// TypedDataIn returns m as EIP-712 typed data in domain d, ready for
// eth_signTypedData_v4: this is exactly what a wallet shows and signs.
func TypedDataIn(d Domain, evmChainID uint64, m Msg) apitypes.TypedData {
	msg := apitypes.TypedDataMessage{}
	for _, f := range m.fields() {
		v := f.value
		if b, ok := v.([]byte); ok {
			v = hexutil.Bytes(b)
		}
		msg[f.name] = v
	}
	d = d.orV1()
	dom := apitypes.TypedDataDomain{Name: DomainName, Version: strconv.FormatUint(uint64(d), 10)}
	if d == DomainV2 {
		salt := LedgerSalt(evmChainID)
		dom.Salt = hexutil.Encode(salt[:])
	} else {
		dom.ChainId = uint256(evmChainID)
	}
	return apitypes.TypedData{
		Types: apitypes.Types{
			"EIP712Domain":   domainTypes[d],
			string(m.Type()): eip712Types[m.Type()],
		},
		PrimaryType: string(m.Type()),
		Domain:      dom,
		Message:     msg,
	}
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
	td := TypedDataIn(dom, evmChainID, m)
	d, _, err := apitypes.TypedDataAndHash(td)
	if err != nil {
		return feedchain.Hash{}, fmt.Errorf("eip-712 hash of %s: %w", m.Type(), err)
	}
	var h feedchain.Hash
	copy(h[:], d)
	return h, nil
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
		default:
			msg[f.name] = v
		}
	}
	return json.Marshal(struct {
		Types       apitypes.Types `json:"types"`
		PrimaryType string         `json:"primaryType"`
		Domain      walletDomain   `json:"domain"`
		Message     map[string]any `json:"message"`
	}{
		Types:       apitypes.Types{"EIP712Domain": domainTypes[d], string(m.Type()): eip712Types[m.Type()]},
		PrimaryType: string(m.Type()),
		Domain:      dom,
		Message:     msg,
	})
}
