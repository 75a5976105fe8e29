package tx

import (
	"errors"
	"testing"
)

func TestParseLedgerChainID(t *testing.T) {
	for s, want := range map[string]uint64{
		"camchain-1": 1, "camchain-4242": 4242, "camchain-9007199254740991": 1<<53 - 1,
	} {
		if got, err := ParseLedgerChainID(s); err != nil || got != want {
			t.Errorf("%q: %d, %v; want %d", s, got, err, want)
		}
	}
	for _, s := range []string{
		"", "camchain-", "camchain-0", "camchain-007", "camchain-+7", "camchain--7", "camchain-7 ",
		"camchain-9007199254740992", "camchain-18446744073709551616", "Camchain-7", "cometbft-7", "7",
	} {
		if n, err := ParseLedgerChainID(s); !errors.Is(err, ErrBadLedgerChainID) {
			t.Errorf("%q: %d, %v; want ErrBadLedgerChainID", s, n, err)
		}
	}
}

// One spelling per chain: whatever parses prints back as itself.
func FuzzParseLedgerChainID(f *testing.F) {
	for _, s := range []string{"camchain-1", "camchain-4242", "camchain-007", "camchain-9007199254740992"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseLedgerChainID(s)
		if err != nil {
			return
		}
		if n == 0 || n > MaxEVMChainID || LedgerChainID(n) != s {
			t.Fatalf("%q parsed to %d, which prints as %q", s, n, LedgerChainID(n))
		}
	})
}
