package media

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
)

// ErrNotAnnexB reports a byte stream that does not begin with an Annex-B
// start code (after optional leading zero bytes) or holds no NAL unit.
var ErrNotAnnexB = errors.New("media: not an H.264 Annex-B byte stream")

var startCode = []byte{0, 0, 1}

// SplitAccessUnits splits an H.264 Annex-B elementary stream (ITU-T H.264
// Annex B: NAL units each preceded by 00 00 01 or 00 00 00 01) into access
// units, one per coded picture, in decode order. Each access unit is a list
// of NAL units without start codes; they alias stream.
//
// Access-unit boundaries follow H.264 7.4.1.2.3, simplified for progressive
// streams with one or more slices per picture: a new access unit begins at an
// access unit delimiter, at an SEI, SPS, PPS or NAL type 14–18 that follows a
// picture, and at a slice with first_mb_in_slice = 0 that follows a picture.
// Each access unit is then parsed with mediacommon's h264.AnnexB, which
// enforces h264.MaxAccessUnitSize and h264.MaxNALUsPerAccessUnit.
//
// Leading NAL units that precede the first picture are kept with it; trailing
// zero bytes (trailing_zero_8bits) are removed from every NAL unit; a NAL unit
// left empty is dropped.
func SplitAccessUnits(stream []byte) ([][][]byte, error) {
	lead := 0
	for lead < len(stream) && stream[lead] == 0 {
		lead++
	}
	if lead < 2 || lead >= len(stream) || stream[lead] != 1 {
		return nil, ErrNotAnnexB
	}

	var bounds []int // start of each access unit's first start code
	seenVCL := false
	for pos := lead - 2; pos < len(stream); {
		i := bytes.Index(stream[pos:], startCode)
		if i < 0 {
			break
		}
		sc := pos + i
		hdr := sc + 3
		pos = hdr
		if hdr >= len(stream) {
			break
		}
		switch typ := h264.NALUType(stream[hdr] & 0x1F); typ {
		case h264.NALUTypeAccessUnitDelimiter:
			bounds = append(bounds, sc)
			seenVCL = false
		case h264.NALUTypeSEI, h264.NALUTypeSPS, h264.NALUTypePPS,
			14, 15, 16, 17, 18: // prefix NAL, subset SPS, DPS, reserved
			if seenVCL || len(bounds) == 0 {
				bounds = append(bounds, sc)
				seenVCL = false
			}
		case h264.NALUTypeNonIDR, h264.NALUTypeDataPartitionA, h264.NALUTypeIDR:
			// first_mb_in_slice is ue(v) and is 0 exactly when its
			// first bit is 1.
			firstMB0 := hdr+1 < len(stream) && stream[hdr+1]&0x80 != 0
			if len(bounds) == 0 || (seenVCL && firstMB0) {
				bounds = append(bounds, sc)
			}
			seenVCL = true
		default:
			if len(bounds) == 0 {
				bounds = append(bounds, sc)
			}
		}
	}
	if len(bounds) == 0 {
		return nil, ErrNotAnnexB
	}

	aus := make([][][]byte, 0, len(bounds))
	for n, start := range bounds {
		end := len(stream)
		if n+1 < len(bounds) {
			end = bounds[n+1]
		}
		var au h264.AnnexB
		err := au.Unmarshal(stream[start:end])
		if errors.Is(err, h264.ErrAnnexBNoNALUs) {
			continue // only empty NAL units, e.g. 00 00 01 00 00 01
		}
		if err != nil {
			return nil, fmt.Errorf("media: access unit %d at byte %d: %w", n, start, err)
		}
		nalus := au[:0]
		for _, nalu := range au {
			nalu = bytes.TrimRight(nalu, "\x00")
			if len(nalu) > 0 {
				nalus = append(nalus, nalu)
			}
		}
		if len(nalus) > 0 {
			aus = append(aus, nalus)
		}
	}
	if len(aus) == 0 {
		return nil, ErrNotAnnexB
	}
	return aus, nil
}
