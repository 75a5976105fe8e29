package evidence

// EncodeUnchecked encodes b without Encode's checks, so tests can make
// bundles that break the format's rules.
func EncodeUnchecked(b *Bundle) []byte {
	out, err := encMode.Marshal(b.wire())
	if err != nil {
		panic(err)
	}
	return out
}
