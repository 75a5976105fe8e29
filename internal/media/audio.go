package media

import (
	"errors"
	"fmt"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/opus"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
)

// AudioCodec is the audio codec of a stream's audio track.
type AudioCodec uint8

// Audio codecs kept in segments: those with a standard place in fMP4 that
// browsers' MSE plays. Others (G.711, G.722, LPCM) are dropped by the
// source, which says so once.
const (
	AAC  AudioCodec = iota + 1 // MPEG-4 Audio (AAC-LC, HE-AAC), 1024 samples a frame
	Opus                       // Opus, always at 48 kHz
)

func (c AudioCodec) String() string {
	switch c {
	case AAC:
		return "AAC"
	case Opus:
		return "Opus"
	}
	return fmt.Sprintf("AudioCodec(%d)", uint8(c))
}

// AudioTrack describes a stream's audio track. Fill Codec and, for AAC,
// Config (from the RTSP SDP's config parameter); for Opus, Channels.
type AudioTrack struct {
	Codec    AudioCodec
	Config   *mpeg4audio.AudioSpecificConfig // AAC only
	Channels int                             // Opus only: 1 or 2
}

// ErrAudio: an audio frame was dropped (empty, over MaxAudioFrameBytes, or
// more than MaxSegmentDuration of audio waiting for a video keyframe).
var ErrAudio = errors.New("media: audio frame dropped")

// MaxAudioFrameBytes caps one audio frame: AAC frames are at most 6144
// bits per channel, Opus packets at most 1275 bytes per frame × 48 frames.
const MaxAudioFrameBytes = 1 << 16

// audioParams is an AudioTrack checked, with what is derived from it.
type audioParams struct {
	rate        int   // track timescale: the sample rate
	frameTicks  int64 // nominal frame duration in rate units (AAC); 0 for Opus (per packet)
	codec       string
	fmp4        fmp4.Codec
	opusPackets bool
}

func (a *AudioTrack) params() (*audioParams, error) {
	switch a.Codec {
	case AAC:
		if a.Config == nil || a.Config.SampleRate < 8000 || a.Config.SampleRate > 96000 {
			return nil, errors.New("media: AAC audio needs a config with a sample rate of 8 to 96 kHz")
		}
		// RFC 6381: mp4a.40.<audio object type>.
		return &audioParams{rate: a.Config.SampleRate, frameTicks: 1024,
			codec: fmt.Sprintf("mp4a.40.%d", a.Config.Type), fmp4: &fmp4.CodecMPEG4Audio{Config: *a.Config}}, nil
	case Opus:
		if a.Channels < 1 || a.Channels > 2 {
			return nil, fmt.Errorf("media: Opus audio with %d channels", a.Channels)
		}
		return &audioParams{rate: 48000, codec: "opus", fmp4: &fmp4.CodecOpus{ChannelCount: a.Channels}, opusPackets: true}, nil
	}
	return nil, fmt.Errorf("media: unsupported audio codec %v", a.Codec)
}

// nominal is the duration of one frame in rate units.
func (p *audioParams) nominal(frame []byte) int64 {
	if p.opusPackets {
		if d := opus.PacketDuration2(frame); d > 0 {
			return d
		}
		return 960 // 20 ms
	}
	return p.frameTicks
}

// audioSample is one buffered audio frame.
type audioSample struct {
	pts     int64 // in the audio clock (rate units), on the source's time axis
	payload []byte
}
