package testcam

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/bluenviron/gortsplib/v5"
	"github.com/bluenviron/gortsplib/v5/pkg/description"
	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/bluenviron/gortsplib/v5/pkg/format/rtph264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"

	"github.com/camchain/camchain/internal/media"
)

// sampleFPS is the built-in clip's frame rate (see internal/media).
const sampleFPS = 25

// sampleStreamer plays the built-in clip on a ServerStream in real time,
// looping, with RTP timestamps that keep counting across loops.
type sampleStreamer struct {
	stream *gortsplib.ServerStream
	stop   chan struct{}
	done   chan struct{}
}

func newSampleStreamer(srv *gortsplib.Server) (*sampleStreamer, error) {
	aus, err := media.SplitAccessUnits(media.SampleH264())
	if err != nil {
		return nil, fmt.Errorf("testcam: sample: %w", err)
	}
	forma := &format.H264{PayloadTyp: 96, PacketizationMode: 1}
	for _, nalu := range aus[0] {
		switch h264.NALUType(nalu[0] & 0x1F) {
		case h264.NALUTypeSPS:
			forma.SPS = nalu
		case h264.NALUTypePPS:
			forma.PPS = nalu
		}
	}
	desc := &description.Session{Medias: []*description.Media{{Type: description.MediaTypeVideo, Formats: []format.Format{forma}}}}
	st := &gortsplib.ServerStream{Server: srv, Desc: desc}
	if err := st.Initialize(); err != nil {
		return nil, fmt.Errorf("testcam: sample stream: %w", err)
	}
	enc, err := forma.CreateEncoder()
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("testcam: sample encoder: %w", err)
	}
	s := &sampleStreamer{stream: st, stop: make(chan struct{}), done: make(chan struct{})}
	go s.run(desc.Medias[0], enc, aus)
	return s, nil
}

func (s *sampleStreamer) run(medi *description.Media, enc *rtph264.Encoder, aus [][][]byte) {
	defer close(s.done)
	var b [4]byte
	rand.Read(b[:]) //nolint:errcheck // crypto/rand does not fail
	base := binary.BigEndian.Uint32(b[:])
	const tick = media.ClockRate / sampleFPS
	began := time.Now()
	t := time.NewTimer(0)
	defer t.Stop()
	for n := 0; ; n++ {
		at := began.Add(time.Duration(n) * time.Second / sampleFPS)
		t.Reset(time.Until(at))
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		pkts, err := enc.Encode(aus[n%len(aus)])
		if err != nil {
			return // the clip is fixed: cannot happen
		}
		for _, p := range pkts {
			p.Timestamp = base + uint32(n*tick)
			s.stream.WritePacketRTPWithNTP(medi, p, at) //nolint:errcheck // no reader is fine
		}
	}
}

func (s *sampleStreamer) close() {
	if s == nil {
		return
	}
	close(s.stop)
	<-s.done
	s.stream.Close()
}
