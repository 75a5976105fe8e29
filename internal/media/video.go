package media

import (
	"fmt"
	"strings"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h265"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
)

// VideoCodec is the video codec of a stream.
type VideoCodec uint8

// Video codecs the segmenter takes.
const (
	H264 VideoCodec = iota // the zero value
	H265
)

func (c VideoCodec) String() string {
	switch c {
	case H264:
		return "H.264"
	case H265:
		return "H.265"
	}
	return fmt.Sprintf("VideoCodec(%d)", uint8(c))
}

// nalKind is what the segmenter needs to know about one NAL unit.
type nalKind uint8

const (
	nalOther   nalKind = iota // SEI and the like: kept in the sample
	nalDrop                   // access unit delimiters: removed
	nalVPS                    // H.265 only
	nalSPS                    //
	nalPPS                    //
	nalPicture                // a slice of a picture that is not a cut point
	nalIDR                    // a slice of an IDR picture: always a cut point
	nalCRA                    // H.265 CRA: a cut point only for an open-GOP stream (see Segmenter)
	nalRASL                   // H.265 RASL: a leading picture of a CRA, referencing the GOP before it
)

// classify names the kind of a non-empty NAL unit.
func (c VideoCodec) classify(nalu []byte) nalKind {
	if c == H265 {
		switch typ := h265.NALUType((nalu[0] >> 1) & 0x3F); {
		case typ == h265.NALUType_VPS_NUT:
			return nalVPS
		case typ == h265.NALUType_SPS_NUT:
			return nalSPS
		case typ == h265.NALUType_PPS_NUT:
			return nalPPS
		case typ == h265.NALUType_AUD_NUT:
			return nalDrop
		case typ == h265.NALUType_IDR_W_RADL || typ == h265.NALUType_IDR_N_LP:
			return nalIDR
		case typ == h265.NALUType_CRA_NUT:
			return nalCRA
		case typ == h265.NALUType_RASL_N || typ == h265.NALUType_RASL_R:
			return nalRASL
		case typ < 32: // the other VCL types
			return nalPicture
		}
		return nalOther
	}
	switch h264.NALUType(nalu[0] & 0x1F) {
	case h264.NALUTypeSPS:
		return nalSPS
	case h264.NALUTypePPS:
		return nalPPS
	case h264.NALUTypeAccessUnitDelimiter:
		return nalDrop
	case h264.NALUTypeIDR:
		return nalIDR
	case h264.NALUTypeNonIDR:
		return nalPicture
	}
	return nalOther
}

// dtsExtractor is h264.DTSExtractor or h265.DTSExtractor.
type dtsExtractor interface {
	Extract(au [][]byte, pts int64) (int64, error)
}

func (c VideoCodec) newExtractor() dtsExtractor {
	if c == H265 {
		return h265.NewDTSExtractor()
	}
	return h264.NewDTSExtractor()
}

// videoParams is one set of parameter sets and what is derived from them.
type videoParams struct {
	vps, sps, pps []byte
	codec         string // RFC 6381
	width, height int
	frameTicks    int64 // nominal frame duration from the SPS timing info; 0 if absent
	fmp4          fmp4.Codec
	ppsID         uint32 // the id keyframe slices must refer to
}

// parseParams checks the parameter sets of a keyframe and derives its
// codec string, size and frame rate.
func (c VideoCodec) parseParams(vps, sps, pps []byte) (*videoParams, error) {
	p := &videoParams{vps: vps, sps: sps, pps: pps}
	var fps float64
	switch c {
	case H264:
		if len(sps) < 4 || len(pps) == 0 {
			return nil, fmt.Errorf("%w: SPS of %d bytes, PPS of %d", ErrInvalidAccessUnit, len(sps), len(pps))
		}
		var info h264.SPS
		if err := info.Unmarshal(sps); err != nil {
			return nil, fmt.Errorf("%w: SPS: %v", ErrInvalidAccessUnit, err)
		}
		id, err := checkH264Params(sps, &info, pps)
		if err != nil {
			return nil, err
		}
		p.ppsID = id
		p.codec = fmt.Sprintf("avc1.%02x%02x%02x", sps[1], sps[2], sps[3]) // profile_idc, constraint flags, level_idc
		p.width, p.height, fps = info.Width(), info.Height(), info.FPS()
		p.fmp4 = &fmp4.CodecH264{SPS: sps, PPS: pps}
	case H265:
		if len(vps) == 0 || len(sps) < 3 || len(pps) == 0 {
			return nil, fmt.Errorf("%w: VPS of %d bytes, SPS of %d, PPS of %d", ErrInvalidAccessUnit, len(vps), len(sps), len(pps))
		}
		var info h265.SPS
		if err := info.Unmarshal(sps); err != nil {
			return nil, fmt.Errorf("%w: SPS: %v", ErrInvalidAccessUnit, err)
		}
		id, err := checkH265Params(&info, pps)
		if err != nil {
			return nil, err
		}
		p.ppsID = id
		p.codec = hevcCodecString(&info.ProfileTierLevel)
		p.width, p.height, fps = info.Width(), info.Height(), info.FPS()
		p.fmp4 = &fmp4.CodecH265{VPS: vps, SPS: sps, PPS: pps}
	default:
		return nil, fmt.Errorf("media: unknown video codec %v", c)
	}
	if fps >= 1 && fps <= 1000 {
		p.frameTicks = int64(ClockRate/fps + 0.5)
	}
	return p, nil
}

// hevcCodecString is the RFC 6381 codecs value of an H.265 stream, per
// ISO/IEC 14496-15 Annex E: hvc1.<space><profile>.<compatibility flags,
// bit-reversed, hex>.<tier L|H><level>.<constraint bytes, trailing zeros
// left out>, e.g. "hvc1.1.6.L93.B0".
func hevcCodecString(p *h265.SPS_ProfileTierLevel) string {
	var b strings.Builder
	b.WriteString("hvc1.")
	if p.GeneralProfileSpace > 0 && p.GeneralProfileSpace <= 3 {
		b.WriteByte("ABC"[p.GeneralProfileSpace-1])
	}
	fmt.Fprintf(&b, "%d.", p.GeneralProfileIdc)
	var compat uint32
	for j, f := range p.GeneralProfileCompatibilityFlag {
		if f {
			compat |= 1 << j // flag j is bit 31-j of the field; reversed, bit j
		}
	}
	fmt.Fprintf(&b, "%X.", compat)
	tier := byte('L')
	if p.GeneralTierFlag != 0 {
		tier = 'H'
	}
	fmt.Fprintf(&b, "%c%d", tier, p.GeneralLevelIdc)
	flag := func(f bool, bit uint) byte {
		if f {
			return 1 << bit
		}
		return 0
	}
	c0 := flag(p.GeneralProgressiveSourceFlag, 7) | flag(p.GeneralInterlacedSourceFlag, 6) |
		flag(p.GeneralNonPackedConstraintFlag, 5) | flag(p.GeneralFrameOnlyConstraintFlag, 4) |
		flag(p.GeneralMax12bitConstraintFlag, 3) | flag(p.GeneralMax10bitConstraintFlag, 2) |
		flag(p.GeneralMax8bitConstraintFlag, 1) | flag(p.GeneralMax422ChromeConstraintFlag, 0)
	c1 := flag(p.GeneralMax420ChromaConstraintFlag, 7) | flag(p.GeneralMaxMonochromeConstraintFlag, 6) |
		flag(p.GeneralIntraConstraintFlag, 5) | flag(p.GeneralOnePictureOnlyConstraintFlag, 4) |
		flag(p.GeneralLowerBitRateConstraintFlag, 3) | flag(p.GeneralMax14BitConstraintFlag, 2)
	switch {
	case c1 != 0:
		fmt.Fprintf(&b, ".%X.%X", c0, c1)
	case c0 != 0:
		fmt.Fprintf(&b, ".%X", c0)
	}
	return b.String()
}
