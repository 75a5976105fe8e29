package pairing

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/camchain/camchain/internal/keys"
	"github.com/camchain/camchain/internal/link"
)

func newTestCode(t testing.TB) *Code {
	k, err := keys.Generate()
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewCode(k.Address(), "192.168.1.20:7445", link.Pin{1, 2, 3}, 4, time.Unix(1_800_000_000, 0))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCodeRoundTrip(t *testing.T) {
	c := newTestCode(t)
	s := c.String()
	if !strings.HasPrefix(s, codePrefix) || strings.ToUpper(s) != s {
		t.Fatalf("code %q is not upper-case %s…", s, codePrefix)
	}
	for _, in := range []string{s, strings.ToLower(s), "  " + s + "\n"} {
		got, err := ParseCode(in)
		if err != nil {
			t.Fatalf("ParseCode(%q): %v", in, err)
		}
		if *got != *c {
			t.Fatalf("round trip changed the code: %+v vs %+v", got, c)
		}
	}
	if c.Expired(time.Unix(c.Expiry-1, 0)) || !c.Expired(time.Unix(c.Expiry, 0)) {
		t.Fatal("expiry boundary wrong")
	}
	var zero [SecretSize]byte
	if c.Secret == zero {
		t.Fatal("secret not drawn")
	}
	if !CheckSecret(c, c.Secret) {
		t.Fatal("own secret refused")
	}
	other := c.Secret
	other[SecretSize-1] ^= 1
	if CheckSecret(c, other) {
		t.Fatal("a different secret accepted")
	}
}

func TestParseCodeRefuses(t *testing.T) {
	s := newTestCode(t).String()
	for name, in := range map[string]string{
		"no prefix":     strings.TrimPrefix(s, codePrefix),
		"other prefix":  "CCPAIR2:" + strings.TrimPrefix(s, codePrefix),
		"cut short":     s[:len(s)-6],
		"extra data":    s + "AAAA",
		"not base32":    codePrefix + "!!!!",
		"empty":         "",
		"a wallet word": "abandon",
	} {
		if _, err := ParseCode(in); !errors.Is(err, ErrBadCode) {
			t.Errorf("%s: err %v, want ErrBadCode", name, err)
		}
	}
}

// FuzzParseCode: never panics; what it accepts re-encodes to the same code.
func FuzzParseCode(f *testing.F) {
	f.Add(newTestCode(f).String())
	f.Add(codePrefix)
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCode(s)
		if err != nil {
			return
		}
		if strings.ToUpper(strings.TrimSpace(s)) != c.String() {
			t.Fatalf("accepted %q, which is not the canonical %q", s, c.String())
		}
	})
}
