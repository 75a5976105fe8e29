package evidence

// EncodeUnchecked encodes b without Encode's checks, so tests can make
// bundles that break the format's rules.
func EncodeUnchecked(b *Bundle) []byte {
	out, err := encMode.Marshal(wireBundle{Label: Label, Version: Version, LedgerChainID: b.LedgerChainID,
		Camera: b.Camera[:], Epoch: b.Epoch, Checkpoints: b.Checkpoints, Clips: b.Clips})
	if err != nil {
		panic(err)
	}
	return out
}
