package auth

import (
	"os"
	"path/filepath"
	"testing"
)

// TestFuzzSeedsCommitted keeps the committed corpus in place.
func TestFuzzSeedsCommitted(t *testing.T) {
	for _, fz := range []string{"FuzzDecodeRecord", "FuzzVerifyToken", "FuzzDecodeEntry", "FuzzVerifyLoginProof"} {
		ents, err := os.ReadDir(filepath.Join("testdata", "fuzz", fz))
		if err != nil || len(ents) == 0 {
			t.Errorf("no committed seeds for %s: %v", fz, err)
		}
	}
}
