package link

import (
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"reflect"
	"testing"

	"github.com/camchain/camchain/internal/feedchain"
)

var updateVectors = flag.Bool("update", false, "rewrite testdata/chainsecret.json")

// chainSecretVector is one case of testdata/chainsecret.json (SPEC §7.1):
// the ratchet, the two proofs and the stored state, for another
// implementation to check against.
type chainSecretVector struct {
	Comment     string `json:"comment"`
	Secret      string `json:"secret"`
	Exporter    string `json:"exporter"`
	Hash        string `json:"hash"` // the acknowledged record's hash (zero: none)
	Ratchet     string `json:"ratchet"`
	ProofCamera string `json:"proof_camera"`
	ProofHub    string `json:"proof_hub"`
	State       string `json:"state"` // SecretState{gen, secret, next = {gen+1, ratchet}} as stored by the hub
	Gen         uint64 `json:"gen"`
}

func fill(b byte) []byte {
	out := make([]byte, 32)
	for i := range out {
		out[i] = b
	}
	return out
}

func makeChainSecretVectors(t *testing.T) []chainSecretVector {
	var out []chainSecretVector
	for _, c := range []struct {
		comment     string
		secret, exp []byte
		hash        []byte
		gen         uint64
	}{
		{"generation 0: the all-zero secret of a new epoch, no acknowledged record", make([]byte, 32), fill(0x11), make([]byte, 32), 0},
		{"generation 5, acknowledged record hash 0x22…", fill(0x01), fill(0x33), fill(0x22), 5},
	} {
		var s Secret
		copy(s[:], c.secret)
		var h feedchain.Hash
		copy(h[:], c.hash)
		next := Ratchet(s, c.exp)
		pc, ph := ChainProof("camera", c.exp, s, h), ChainProof("hub", c.exp, s, h)
		st, err := SecretState{Gen: c.gen, Secret: s, Next: NextSecret{Valid: true, Gen: c.gen + 1, Secret: next}}.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, chainSecretVector{Comment: c.comment, Secret: hex.EncodeToString(c.secret), Exporter: hex.EncodeToString(c.exp),
			Hash: hex.EncodeToString(c.hash), Ratchet: hex.EncodeToString(next[:]), ProofCamera: hex.EncodeToString(pc[:]),
			ProofHub: hex.EncodeToString(ph[:]), State: hex.EncodeToString(st), Gen: c.gen})
	}
	return out
}

// The committed vectors are what this implementation computes; -update
// rewrites them.
func TestChainSecretVectors(t *testing.T) {
	got := makeChainSecretVectors(t)
	path := "testdata/chainsecret.json"
	if *updateVectors {
		b, _ := json.MarshalIndent(got, "", "  ")
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var want []chainSecretVector
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	if len(want) != len(got) {
		t.Fatalf("%d vectors, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("vector %d (%s):\n got %+v\nwant %+v", i, want[i].Comment, got[i], want[i])
		}
		raw, _ := hex.DecodeString(want[i].State)
		st, err := ParseSecretState(raw)
		if err != nil || st.Gen != want[i].Gen || hex.EncodeToString(st.Next.Secret[:]) != want[i].Ratchet {
			t.Errorf("vector %d: state does not parse back: %+v %v", i, st, err)
		}
		// Systematic corruptions of the state: each flipped byte, a byte
		// more, a byte less.
		for j := range raw {
			bad := append([]byte(nil), raw...)
			bad[j] ^= 0x01
			if s, err := ParseSecretState(bad); err == nil && reflect.DeepEqual(s, st) {
				t.Errorf("vector %d: flipping byte %d gives the same state", i, j)
			}
		}
		if _, err := ParseSecretState(append(raw, 0)); err == nil {
			t.Errorf("vector %d: trailing byte accepted", i)
		}
		if _, err := ParseSecretState(raw[:len(raw)-1]); err == nil {
			t.Errorf("vector %d: truncated state accepted", i)
		}
	}
}
