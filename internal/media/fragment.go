package media

import (
	"encoding/binary"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
)

// A fragment (moof, mdat) written straight into the segment's buffer:
// exactly the bytes mediacommon's fmp4.Part.Marshal writes (fragment_test.go
// holds the two side by side on random fragments), without its copy of
// every payload into an mdat of its own and without go-mp4's reflection.
//
//	moof
//	  mfhd                 version 0, sequence number
//	  traf (each track)
//	    tfhd               flags 0x020000 (default-base-is-moof), track ID
//	    tfdt               version 1, base media decode time (64 bits)
//	    trun               version 1, flags 0x301 data offset, duration and size
//	                       | 0x400 sample flags if any sample is not a sync sample
//	                       | 0x800 composition offset if any is non-zero
//	mdat                   every track's payloads, in order

type fragmentTrack struct {
	id      uint32
	base    uint64
	samples []*fmp4.Sample
}

const (
	trunDataOffset  = 0x001
	trunDuration    = 0x100
	trunSize        = 0x200
	trunFlags       = 0x400
	trunCTO         = 0x800
	sampleNonSync   = 1 << 16
	tfhdBaseIsMoof  = 0x020000
	boxHeader       = 8
	fullBoxHeader   = 12
	mfhdSize        = fullBoxHeader + 4
	tfhdSize        = fullBoxHeader + 4
	tfdtSize        = fullBoxHeader + 8
	trunFixedFields = 4 + 4 // sample count, data offset
)

func trunFlagsOf(samples []*fmp4.Sample) uint32 {
	f := uint32(trunDataOffset | trunDuration | trunSize)
	for _, s := range samples {
		if s.IsNonSyncSample {
			f |= trunFlags
		}
		if s.PTSOffset != 0 {
			f |= trunCTO
		}
	}
	return f
}

func trunEntrySize(flags uint32) int {
	n := 8 // duration, size
	if flags&trunFlags != 0 {
		n += 4
	}
	if flags&trunCTO != 0 {
		n += 4
	}
	return n
}

// appendFragment appends fragment seq of tracks to dst.
func appendFragment(dst []byte, seq uint32, tracks []fragmentTrack) []byte {
	dst = appendFragmentHeader(dst, seq, tracks)
	for _, t := range tracks {
		for _, s := range t.samples {
			dst = append(dst, s.Payload...)
		}
	}
	return dst
}

// fragmentSizes returns the size of the fragment's moof box and of its
// payloads (the mdat's content).
func fragmentSizes(tracks []fragmentTrack) (moofSize, dataSize int) {
	moofSize = boxHeader + mfhdSize
	for _, t := range tracks {
		moofSize += boxHeader + tfhdSize + tfdtSize + fullBoxHeader + trunFixedFields + len(t.samples)*trunEntrySize(trunFlagsOf(t.samples))
		for _, s := range t.samples {
			dataSize += len(s.Payload)
		}
	}
	return moofSize, dataSize
}

// fragmentHeaderLen is the length of what appendFragmentHeader appends.
func fragmentHeaderLen(tracks []fragmentTrack) int {
	moofSize, _ := fragmentSizes(tracks)
	return moofSize + boxHeader
}

// appendFragmentHeader appends fragment seq's moof box and its mdat's box
// header to dst: the fragment but its payloads, which follow the header,
// each track's in order, as appendFragment writes them (the Segmenter
// writes them in place, before the header). Only the payloads' lengths
// are read.
func appendFragmentHeader(dst []byte, seq uint32, tracks []fragmentTrack) []byte {
	moofSize, dataSize := fragmentSizes(tracks)
	be := binary.BigEndian
	box := func(size int, typ string) {
		dst = be.AppendUint32(dst, uint32(size))
		dst = append(dst, typ...)
	}
	full := func(size int, typ string, version byte, flags uint32) {
		box(size, typ)
		dst = append(dst, version, byte(flags>>16), byte(flags>>8), byte(flags))
	}
	box(moofSize, "moof")
	full(mfhdSize, "mfhd", 0, 0)
	dst = be.AppendUint32(dst, seq)
	offset := moofSize + boxHeader // the first payload byte, from the start of moof
	for _, t := range tracks {
		flags := trunFlagsOf(t.samples)
		trunSize := fullBoxHeader + trunFixedFields + len(t.samples)*trunEntrySize(flags)
		box(boxHeader+tfhdSize+tfdtSize+trunSize, "traf")
		full(tfhdSize, "tfhd", 0, tfhdBaseIsMoof)
		dst = be.AppendUint32(dst, t.id)
		full(tfdtSize, "tfdt", 1, 0)
		dst = be.AppendUint64(dst, t.base)
		full(trunSize, "trun", 1, flags)
		dst = be.AppendUint32(dst, uint32(len(t.samples)))
		dst = be.AppendUint32(dst, uint32(int32(offset)))
		for _, s := range t.samples {
			dst = be.AppendUint32(dst, s.Duration)
			dst = be.AppendUint32(dst, uint32(len(s.Payload)))
			if flags&trunFlags != 0 {
				var sf uint32
				if s.IsNonSyncSample {
					sf = sampleNonSync
				}
				dst = be.AppendUint32(dst, sf)
			}
			if flags&trunCTO != 0 {
				dst = be.AppendUint32(dst, uint32(s.PTSOffset))
			}
			offset += len(s.Payload)
		}
	}
	box(boxHeader+dataSize, "mdat")
	return dst
}
