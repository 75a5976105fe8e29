package media

import (
	"fmt"

	"github.com/bluenviron/mediacommon/v2/pkg/bits"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h265"
)

// Structural checks on what a camera sends, so that a broken or hostile
// camera's garbage (random RTP payloads that happen to carry the NAL type
// of a parameter set or a keyframe) is refused instead of being stored as
// segments no player can decode. They check headers, not pixels: a camera
// that sends well-formed slices of nonsense still records nonsense.

// H.264 profile_idc values (ITU-T H.264 A.2, 7.4.2.1.1) and level_idc values
// (A.3; 9 is level 1b).
var (
	h264Profiles = map[uint8]bool{66: true, 77: true, 88: true, 100: true, 110: true, 122: true, 244: true, 44: true,
		83: true, 86: true, 118: true, 128: true, 138: true, 139: true, 134: true, 135: true}
	h264Levels = map[uint8]bool{9: true, 10: true, 11: true, 12: true, 13: true, 20: true, 21: true, 22: true, 30: true,
		31: true, 32: true, 40: true, 41: true, 42: true, 50: true, 51: true, 52: true, 60: true, 61: true, 62: true}
)

// MaxPictureSide bounds a picture's width and height (8K is 7680×4320).
const MaxPictureSide = 8192

// checkHeader checks a NAL unit's header: forbidden_zero_bit clear and,
// for H.265, the base layer with a non-zero temporal id.
func (c VideoCodec) checkHeader(nalu []byte) error {
	if nalu[0]&0x80 != 0 {
		return fmt.Errorf("%w: NAL unit with forbidden_zero_bit set", ErrInvalidAccessUnit)
	}
	if c == H265 {
		if len(nalu) < 2 {
			return fmt.Errorf("%w: H.265 NAL unit of %d byte", ErrInvalidAccessUnit, len(nalu))
		}
		if layer := (nalu[0]&1)<<5 | nalu[1]>>3; layer != 0 {
			return fmt.Errorf("%w: H.265 NAL unit of layer %d", ErrInvalidAccessUnit, layer)
		}
		if nalu[1]&7 == 0 {
			return fmt.Errorf("%w: H.265 NAL unit with nuh_temporal_id_plus1 0", ErrInvalidAccessUnit)
		}
	}
	return nil
}

// checkSize checks a picture size from an SPS.
func checkSize(w, h int) error {
	if w < 16 || h < 16 || w > MaxPictureSide || h > MaxPictureSide {
		return fmt.Errorf("%w: picture size %d×%d", ErrInvalidAccessUnit, w, h)
	}
	return nil
}

// checkH264Params checks an SPS and PPS beyond parsing: a known profile and
// level, reserved bits zero, a sane size, nal_ref_idc non-zero, and a PPS
// that refers to this SPS. It returns the PPS id.
func checkH264Params(sps []byte, info *h264.SPS, pps []byte) (uint32, error) {
	if sps[0]&0x60 == 0 || pps[0]&0x60 == 0 {
		return 0, fmt.Errorf("%w: parameter set with nal_ref_idc 0", ErrInvalidAccessUnit)
	}
	if !h264Profiles[sps[1]] || !h264Levels[sps[3]] || sps[2]&0x03 != 0 {
		return 0, fmt.Errorf("%w: SPS with profile %d, constraints %#02x, level %d", ErrInvalidAccessUnit, sps[1], sps[2], sps[3])
	}
	if err := checkSize(info.Width(), info.Height()); err != nil {
		return 0, err
	}
	rbsp := h264.EmulationPreventionRemove(pps[1:])
	pos := 0
	ppsID, err := bits.ReadGolombUnsigned(rbsp, &pos)
	if err != nil || ppsID > 255 {
		return 0, fmt.Errorf("%w: PPS id", ErrInvalidAccessUnit)
	}
	spsID, err := bits.ReadGolombUnsigned(rbsp, &pos)
	if err != nil || spsID != uint32(info.ID) {
		return 0, fmt.Errorf("%w: PPS refers to SPS %d, not %d", ErrInvalidAccessUnit, spsID, info.ID)
	}
	return ppsID, nil
}

// checkH265Params checks an H.265 SPS and PPS beyond parsing. It returns
// the PPS id.
func checkH265Params(info *h265.SPS, pps []byte) (uint32, error) {
	if p := info.ProfileTierLevel.GeneralProfileIdc; p < 1 || p > 11 {
		return 0, fmt.Errorf("%w: SPS with profile %d", ErrInvalidAccessUnit, p)
	}
	if err := checkSize(info.Width(), info.Height()); err != nil {
		return 0, err
	}
	var p h265.PPS
	if err := p.Unmarshal(pps); err != nil {
		return 0, fmt.Errorf("%w: PPS: %v", ErrInvalidAccessUnit, err)
	}
	if p.SPSID != uint32(info.ID) {
		return 0, fmt.Errorf("%w: PPS refers to SPS %d, not %d", ErrInvalidAccessUnit, p.SPSID, info.ID)
	}
	return p.ID, nil
}

// sliceHeaderBytes is how much of a slice NAL unit's payload
// checkKeySlices unescapes: the fields it reads (at most three Exp-Golomb
// codes of 32-bit values, 65 bits each, or two flags and one) fit in 25
// bytes of RBSP, and 64 escaped bytes hold at least 42 of them. Unescaping
// the whole slice — a keyframe's hundreds of kilobytes — copied it to read
// a few bits. (A variable only for the test that compares it with the
// whole slices.)
var sliceHeaderBytes = 64

func sliceHeaderPrefix(b []byte) []byte { return b[:min(len(b), sliceHeaderBytes)] }

// checkKeySlices checks the slice headers of a keyframe's slices: an intra
// slice (H.264) or the first slice of an IRAP picture (H.265), naming the
// PPS in force.
func (c VideoCodec) checkKeySlices(frame [][]byte, ppsID uint32) error {
	first := true
	for _, nalu := range frame {
		k := c.classify(nalu)
		if k != nalIDR && k != nalCRA {
			continue
		}
		var rbsp []byte
		if c == H265 {
			rbsp = h264.EmulationPreventionRemove(sliceHeaderPrefix(nalu[2:]))
		} else {
			if nalu[0]&0x60 == 0 {
				return fmt.Errorf("%w: IDR slice with nal_ref_idc 0", ErrInvalidAccessUnit)
			}
			rbsp = h264.EmulationPreventionRemove(sliceHeaderPrefix(nalu[1:]))
		}
		pos := 0
		if c == H265 {
			firstInPic, err := bits.ReadFlag(rbsp, &pos)
			if err != nil || firstInPic != first {
				return fmt.Errorf("%w: keyframe slice order", ErrInvalidAccessUnit)
			}
			pos++ // no_output_of_prior_pics_flag, present in IRAP pictures
		} else {
			if _, err := bits.ReadGolombUnsigned(rbsp, &pos); err != nil { // first_mb_in_slice
				return fmt.Errorf("%w: slice header", ErrInvalidAccessUnit)
			}
			st, err := bits.ReadGolombUnsigned(rbsp, &pos)
			if err != nil || (st != 2 && st != 4 && st != 7 && st != 9) { // I or SI
				return fmt.Errorf("%w: IDR slice of type %d", ErrInvalidAccessUnit, st)
			}
		}
		id, err := bits.ReadGolombUnsigned(rbsp, &pos)
		if err != nil || id != ppsID {
			return fmt.Errorf("%w: keyframe slice refers to PPS %d, not %d", ErrInvalidAccessUnit, id, ppsID)
		}
		first = false
	}
	return nil
}
