package layout

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/camchain/camchain/internal/feedchain"
	"github.com/camchain/camchain/internal/keys"
)

func TestStateFileFormats(t *testing.T) {
	h := feedchain.Head{Valid: true, Seq: 12, Hash: feedchain.Hash{0xab, 0xcd}}
	if got, err := DecodeAcked(EncodeAcked(h)); err != nil || got != h {
		t.Fatalf("acked round trip: %v %v", got, err)
	}
	if n, err := DecodePruned(EncodePruned(77)); err != nil || n != 77 {
		t.Fatalf("pruned round trip: %v %v", n, err)
	}
	hash := strings.Repeat("ab", 32)
	for _, bad := range []string{
		"", "camchain-acked 2\n12 " + hash + "\n", "camchain-acked 1\n12 " + hash,
		"camchain-acked 1\n012 " + hash + "\n", "camchain-acked 1\n12  " + hash + "\n",
		"camchain-acked 1\n12 " + strings.ToUpper(hash) + "\n", "camchain-acked 1\n12 " + hash[2:] + "\n",
		"camchain-acked 1\n-1 " + hash + "\n", "camchain-acked 1\n12 " + hash + "\nx",
	} {
		if _, err := DecodeAcked([]byte(bad)); err == nil {
			t.Errorf("DecodeAcked accepted %q", bad)
		}
	}
	for _, bad := range []string{"", "camchain-pruned 2\n1\n", "camchain-pruned 1\n1", "camchain-pruned 1\n+1\n", "camchain-pruned 1\n01\n"} {
		if _, err := DecodePruned([]byte(bad)); err == nil {
			t.Errorf("DecodePruned accepted %q", bad)
		}
	}
}

func TestNames(t *testing.T) {
	if got := SegName(42); got != "0000000000000042.mp4" {
		t.Fatalf("SegName(42) = %q", got)
	}
	for _, bad := range []string{"42.mp4", "000000000000004a.mp4", "0000000000000042.mp3", "+000000000000042.mp4", "00000000000000042.mp4"} {
		if _, ok := ParseSegName(bad); ok {
			t.Errorf("ParseSegName accepted %q", bad)
		}
	}
	cam := keys.Address{0xab, 0x01}
	for _, c := range []struct {
		stream feedchain.Stream
		want   string
	}{
		{feedchain.StreamMain, "ab01000000000000000000000000000000000000/7"},
		{feedchain.StreamSub, "ab01000000000000000000000000000000000000/7.sub"},
	} {
		dir := ChainDir(cam, 7, c.stream)
		if got, epoch, stream, ok := ParseChainDir("/store/" + dir); !ok || got != cam || epoch != 7 || stream != c.stream || dir != c.want {
			t.Fatalf("ChainDir %q parsed to %v %d %v %v", dir, got, epoch, stream, ok)
		}
	}
	for _, bad := range []string{"AB01000000000000000000000000000000000000/7", "ab01000000000000000000000000000000000000/07",
		"ab0100/7", "ab01000000000000000000000000000000000000/x", "ab01000000000000000000000000000000000000/7.main",
		"ab01000000000000000000000000000000000000/7.", "ab01000000000000000000000000000000000000/7.SUB",
		"ab01000000000000000000000000000000000000/7.sub.sub", "ab01000000000000000000000000000000000000/07.sub",
		"ab01000000000000000000000000000000000000/7.stream-2"} {
		if _, _, _, ok := ParseChainDir(bad); ok {
			t.Errorf("ParseChainDir accepted %q", bad)
		}
	}
}

// The state-file and name decoders accept one spelling of each value:
// whatever they accept encodes back to the same bytes.
func FuzzDecoders(f *testing.F) {
	f.Add([]byte(EncodeAcked(feedchain.Head{Valid: true, Seq: 3, Hash: feedchain.Hash{1}})))
	f.Add(EncodePruned(9))
	f.Add([]byte(SegName(5)))
	f.Add([]byte("ab01000000000000000000000000000000000000/7"))
	f.Add([]byte("ab01000000000000000000000000000000000000/7.sub"))
	f.Add([]byte("0000000000000005.rec"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if seq, ok := ParseObjRecName(string(b)); ok && !strings.HasSuffix(ObjRecName("d", seq), "/"+string(b)) {
			t.Fatalf("rec object name %q parsed to %d", b, seq)
		}
		if h, err := DecodeAcked(b); err == nil && !bytes.Equal(EncodeAcked(h), b) {
			t.Fatalf("acked %q decoded to %v, which encodes as %q", b, h, EncodeAcked(h))
		}
		if n, err := DecodePruned(b); err == nil && !bytes.Equal(EncodePruned(n), b) {
			t.Fatalf("pruned %q decoded to %d", b, n)
		}
		if seq, ok := ParseSegName(string(b)); ok && SegName(seq) != string(b) {
			t.Fatalf("segment name %q parsed to %d", b, seq)
		}
		if cam, epoch, stream, ok := ParseChainDir(string(b)); ok && !strings.HasSuffix(filepath.Clean(string(b)), ChainDir(cam, epoch, stream)) {
			t.Fatalf("chain dir %q parsed to %v/%d/%v", b, cam, epoch, stream)
		}
	})
}

func TestObjectNames(t *testing.T) {
	var cam keys.Address
	cam[0] = 0xab
	dir := ObjChainDir(cam, 7, feedchain.StreamSub)
	if dir != "ab00000000000000000000000000000000000000/7.sub" {
		t.Fatalf("ObjChainDir = %q", dir)
	}
	if got := ObjSegName(dir, 5); got != dir+"/seg/0000000000000005.mp4" {
		t.Fatalf("ObjSegName = %q", got)
	}
	if got := ObjRecName(dir, 5); got != dir+"/rec/0000000000000005.rec" {
		t.Fatalf("ObjRecName = %q", got)
	}
	for name, want := range map[string]bool{"0000000000000005.rec": true, "000000000000005.rec": false, "0000000000000005.mp4": false,
		"000000000000000x.rec": false, "+000000000000005.rec": false, "0000000000000005.rec.tmp": false} {
		if _, ok := ParseObjRecName(name); ok != want {
			t.Errorf("ParseObjRecName(%q) ok = %v", name, ok)
		}
	}
}
