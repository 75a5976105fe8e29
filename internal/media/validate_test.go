package media

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// checkKeySlicesWhole is checkKeySlices as it was, unescaping each whole
// slice: the reference its header prefix must agree with.
func checkKeySlicesWhole(c VideoCodec, frame [][]byte, ppsID uint32) error {
	saved := sliceHeaderBytes
	sliceHeaderBytes = 1 << 30
	defer func() { sliceHeaderBytes = saved }()
	return c.checkKeySlices(frame, ppsID)
}

// escape inserts H.264/H.265 emulation prevention bytes: 0x03 after two
// zero bytes that a byte of 0–3 follows.
func escape(rbsp []byte) []byte {
	var out []byte
	zeros := 0
	for _, b := range rbsp {
		if zeros == 2 && b <= 3 {
			out, zeros = append(out, 3), 0
		}
		out = append(out, b)
		if b == 0 {
			zeros++
		} else {
			zeros = 0
		}
	}
	return out
}

// TestKeySliceHeaderPrefix: reading a keyframe's slice headers from their
// first sliceHeaderBytes gives exactly the verdict the whole slices give,
// for headers with the largest Exp-Golomb values, emulation prevention
// bytes anywhere, slices of every length and garbage after the header.
func TestKeySliceHeaderPrefix(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	// ue writes v as Exp-Golomb into bits.
	ue := func(bits []bool, v uint64) []bool {
		v++
		n := 0
		for x := v; x > 1; x >>= 1 {
			n++
		}
		for range n {
			bits = append(bits, false)
		}
		for i := n; i >= 0; i-- {
			bits = append(bits, v>>uint(i)&1 == 1)
		}
		return bits
	}
	pack := func(bits []bool, tail int) []byte {
		var out []byte
		for i := 0; i < len(bits); i += 8 {
			var b byte
			for j := range 8 {
				if i+j < len(bits) && bits[i+j] {
					b |= 0x80 >> j
				}
			}
			out = append(out, b)
		}
		for range tail {
			if rng.IntN(3) == 0 {
				out = append(out, 0) // zeros make emulation prevention bytes
			} else {
				out = append(out, byte(rng.IntN(256)))
			}
		}
		return out
	}
	big := []uint64{0, 1, 2, 4, 7, 9, 63, 1 << 16, 1<<32 - 2}
	runs, agreedOK := 0, 0
	for i := range 4000 {
		c := H264
		if i%2 == 1 {
			c = H265
		}
		var bits []bool
		if c == H265 {
			bits = append(bits, true, false)
		} else {
			bits = ue(bits, big[rng.IntN(len(big))])
			bits = ue(bits, []uint64{2, 4, 7, 9, 0, 5}[rng.IntN(6)])
		}
		pps := big[rng.IntN(len(big))] % 64
		bits = ue(bits, pps)
		rbsp := pack(bits, rng.IntN(300))
		if rng.IntN(4) == 0 {
			rbsp = rbsp[:rng.IntN(len(rbsp)+1)] // cut short: too short for the header, often
		}
		esc := escape(rbsp)
		var nalu []byte
		if c == H265 {
			nalu = append([]byte{19 << 1, 1}, esc...) // IDR_W_RADL
		} else {
			nalu = append([]byte{0x65}, esc...) // IDR, nal_ref_idc 3
		}
		want := checkKeySlicesWhole(c, [][]byte{nalu}, uint32(pps))
		got := c.checkKeySlices([][]byte{nalu}, uint32(pps))
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("%v slice %x (%d bytes): from the header prefix %v, from the whole slice %v", c, nalu[:min(len(nalu), 80)], len(nalu), got, want)
		}
		runs++
		if want == nil && len(nalu) > sliceHeaderBytes {
			agreedOK++
		}
	}
	if agreedOK < runs/4 {
		t.Fatalf("only %d of %d slices were valid and longer than the prefix: the test checks too little", agreedOK, runs)
	}
}
