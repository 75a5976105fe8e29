package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/camchain/camchain/internal/e2ee"
	"github.com/camchain/camchain/internal/evidence/evidencetest"
	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
)

// The web player with end-to-end encryption: a recorded session of the
// built-in sample sealed under one content key (SPEC §17.2), as a real hub
// sends it, verified and decrypted in Chromium by the page's Verifier and
// Keyring, beside the page's verification alone of the same sealed frames
// in the same page and run. A report (the issue sets no target).
func benchPlayerDecrypt(ctx context.Context, o *options) ([]Row, error) {
	tmp, err := os.MkdirTemp("", "camchain-bench-player-decrypt-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	// One content key wrapped to a viewer, whose viewing-key signature the
	// page turns into its key as a browser wallet's would.
	viewer, err := keys.Generate()
	if err != nil {
		return nil, err
	}
	var wire []byte
	seal := func(cam *evidencetest.Camera) error {
		ck, err := e2ee.NewContentKey(cam.Key.Address(), 0, 1)
		if err != nil {
			return err
		}
		vk, err := e2ee.Derive(viewer)
		if err != nil {
			return err
		}
		env, err := ck.Wrap([]e2ee.Recipient{{Account: viewer.Address(), Key: vk.Public()}}, cam.Key)
		if err != nil {
			return err
		}
		if wire, err = env.Encode(); err != nil {
			return err
		}
		cam.Seal = func(seq uint64, data []byte) ([]byte, error) {
			sk, err := ck.Segment(feedchain.StreamMain, seq)
			if err != nil {
				return nil, err
			}
			return sk.Seal(0, data)
		}
		return nil
	}
	sig, err := keys.SignText(viewer, e2ee.Message(viewer.Address()))
	if err != nil {
		return nil, err
	}
	o.Progress.Printf("   %d sealed segments of the built-in sample on a real hub, played back over its socket", verifyRateSegments)
	in, err := recordedSession(ctx, tmp, seal)
	if err != nil {
		return nil, err
	}
	kb, _ := json.Marshal(map[string]string{"account": viewer.Address().Hex(), "signature": sig.Hex(), "envelope": "0x" + hex.EncodeToString(wire)})
	kf := filepath.Join(tmp, "keys.json")
	if err := os.WriteFile(kf, kb, 0o600); err != nil {
		return nil, err
	}
	o.Progress.Printf("   %d runs in one Chromium page: the page's Verifier alone, then Verifier and Keyring", verifyRateRuns)
	out, err := verifyRate(ctx, in, kf)
	if err != nil {
		return nil, err
	}
	var res struct {
		Segments   int       `json:"segments"`
		Bytes      int       `json:"bytes"`
		PlainBytes int       `json:"plainBytes"`
		VerifyMS   []float64 `json:"verifyMs"`
		DecryptMS  []float64 `json:"decryptMs"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		return nil, fmt.Errorf("verifyrate output %q: %w", out, err)
	}
	if res.Segments != verifyRateSegments || len(res.DecryptMS) != verifyRateRuns {
		return nil, fmt.Errorf("the page verified %d segments and decrypted %d runs, want %d and %d", res.Segments, len(res.DecryptMS), verifyRateSegments, verifyRateRuns)
	}
	if want := res.Bytes - res.Segments*e2ee.SealedOverhead; res.PlainBytes != want {
		return nil, fmt.Errorf("the page decrypted %d bytes of plaintext, want %d", res.PlainBytes, want)
	}
	v, d := medianF(res.VerifyMS), medianF(res.DecryptMS)
	note := fmt.Sprintf("a real hub's recorded session of %d segments of the built-in sample (640x360 H.264, 2 s, %.0f KB average) sealed under one content key (SPEC §17.2), over its playback socket, in Debian's Chromium: verified by the page's Verifier (ui/src/viewchain.ts) and decrypted by its Keyring (ui/src/e2ee.ts: the camera-signed envelope checked and opened with the viewing key, HPKE X-Wing, once per run; per segment HKDF-SHA256 and AES-256-GCM in WebCrypto) as the player does; baseline: the Verifier alone over the same sealed frames in the same page; median of %d runs (verify and decrypt %.0f ms, verify %.0f ms); a report, no target",
		res.Segments, float64(res.Bytes)/float64(res.Segments)/1000, verifyRateRuns, d, v)
	return []Row{
		NewRow("player.decrypt_verify_segments_per_s", "segments/s", float64(res.Segments)/(d/1000), "player.verify_sealed_segments_per_s", float64(res.Segments)/(v/1000), nil, note),
	}, nil
}
