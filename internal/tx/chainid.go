package tx

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// LedgerChainIDPrefix starts every camchain ledger's CometBFT chain id; the
// decimal number after it is the EIP-712 chainId every transaction is
// signed under (docs/SPEC.md §2.1).
const LedgerChainIDPrefix = "camchain-"

// MaxEVMChainID bounds the EIP-712 chain id below 2^53, so JavaScript
// wallets hold it exactly.
const MaxEVMChainID = 1<<53 - 1

// ErrBadLedgerChainID: a chain id that is not camchain-<n>.
var ErrBadLedgerChainID = errors.New("not a camchain ledger chain id")

// ParseLedgerChainID returns the EIP-712 chain id n of a ledger chain id
// "camchain-<n>": n decimal, without sign or leading zeros (one spelling
// per chain), 0 < n < 2^53. The one parser of it: the ledger, the hub's
// init and evidence verification all call this.
func ParseLedgerChainID(s string) (uint64, error) {
	d, ok := strings.CutPrefix(s, LedgerChainIDPrefix)
	if ok {
		if n, err := strconv.ParseUint(d, 10, 64); err == nil && n > 0 && n <= MaxEVMChainID && strconv.FormatUint(n, 10) == d {
			return n, nil
		}
	}
	return 0, fmt.Errorf("%w: %q is not %s<n> with n a decimal number, 0 < n < 2^53, without leading zeros", ErrBadLedgerChainID, s, LedgerChainIDPrefix)
}

// LedgerChainID is the ledger chain id of EIP-712 chain id n.
func LedgerChainID(n uint64) string { return LedgerChainIDPrefix + strconv.FormatUint(n, 10) }
