package tx

import (
	"encoding/json"
	"fmt"
	"math/big"

	"github.com/camchain/camchain/internal/feedchain"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/common/math"
	"github.com/ethereum/go-ethereum/signer/core/apitypes"
)

// The EIP-712 domain every camchain message is signed under. The chain id
// separates one camchain ledger from another (and from every EVM chain that
// happens to share the number, since name and version differ too).
const (
	DomainName    = "camchain"
	DomainVersion = "1"
)

var domainType = []apitypes.Type{
	{Name: "name", Type: "string"},
	{Name: "version", Type: "string"},
	{Name: "chainId", Type: "uint256"},
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

// TypedData returns m as EIP-712 typed data, ready for eth_signTypedData_v4:
// this is exactly what a wallet shows and signs.
func TypedData(evmChainID uint64, m Msg) apitypes.TypedData {
	msg := apitypes.TypedDataMessage{}
	for _, f := range m.fields() {
		v := f.value
		if b, ok := v.([]byte); ok {
			v = hexutil.Bytes(b)
		}
		msg[f.name] = v
	}
	return apitypes.TypedData{
		Types: apitypes.Types{
			"EIP712Domain":   domainType,
			string(m.Type()): eip712Types[m.Type()],
		},
		PrimaryType: string(m.Type()),
		Domain: apitypes.TypedDataDomain{
			Name:    DomainName,
			Version: DomainVersion,
			ChainId: uint256(evmChainID),
		},
		Message: msg,
	}
}

// Digest is the EIP-712 signing digest of m on chain chainID:
// keccak256(0x19 ‖ 0x01 ‖ domainSeparator ‖ hashStruct(m)).
func Digest(evmChainID uint64, m Msg) (feedchain.Hash, error) {
	td := TypedData(evmChainID, m)
	d, _, err := apitypes.TypedDataAndHash(td)
	if err != nil {
		return feedchain.Hash{}, fmt.Errorf("eip-712 hash of %s: %w", m.Type(), err)
	}
	var h feedchain.Hash
	copy(h[:], d)
	return h, nil
}

// walletDomain is the domain as JSON for wallets: no empty
// verifyingContract or salt members, which some wallets reject.
type walletDomain struct {
	Name       string `json:"name"`
	Version    string `json:"version"`
	EVMChainID uint64 `json:"chainId"`
}

// WalletJSON returns m as the JSON argument of eth_signTypedData_v4 (what
// MetaMask, ethers' signTypedData or viem take). Integers are decimal
// strings, so no JavaScript number loses precision.
func WalletJSON(evmChainID uint64, m Msg) ([]byte, error) {
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
		Types:       apitypes.Types{"EIP712Domain": domainType, string(m.Type()): eip712Types[m.Type()]},
		PrimaryType: string(m.Type()),
		Domain:      walletDomain{Name: DomainName, Version: DomainVersion, EVMChainID: evmChainID},
		Message:     msg,
	})
}
