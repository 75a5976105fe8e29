#!/bin/sh
# make-sample.sh regenerates the H.264 clips used by package media.
#
#   internal/media/sample/sample.h264   the built-in sample embedded in the agent
#   internal/media/testdata/bframes.h264  a tiny clip with B-frames (tests only)
#
# ffmpeg is needed only to run this script; nothing at build, run or test time
# uses it. Run from anywhere:  sh internal/media/testdata/make-sample.sh
#
# The output is "deterministic-ish": single-threaded encoding makes repeated
# runs on one machine byte-identical, but another ffmpeg/x264 build may encode
# differently. Whatever it produces must keep the facts the tests check:
# 640x360, 25 fps, an IDR exactly every 50 frames (2 s), no B-frames, 8 s.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
out_sample="$here/../sample/sample.h264"
out_bframes="$here/bframes.h264"

font=/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf
overlay=""
if [ -r "$font" ] && ffmpeg -hide_banner -filters 2>/dev/null | grep -q ' drawtext '; then
	# A visible clock: seconds into the clip and the frame number, so a
	# viewer can see the loop and any dropped or repeated frame.
	overlay=",drawtext=fontfile=$font:fontsize=20:fontcolor=white:box=1:boxcolor=black@0.6:x=12:y=h-th-12:text='camchain sample %{pts\\:hms} frame %{n}'"
fi

# One encoder thread and one lookahead thread: x264's default threading
# makes rate control, and so the bytes, vary from run to run.
common="-hide_banner -loglevel error -y -filter_threads 1"
x264="-threads 1 -x264-params threads=1:lookahead-threads=1"

# The sample: Main profile level 3.0 (codec avc1.4d401e), closed GOP of 50
# frames with no scene-cut keyframes, no B-frames (decode order = display
# order, so the raw stream's frame index is its timestamp), ~400 kbit/s.
# h264_mp4toannexb keeps SPS/PPS in front of every IDR.
ffmpeg $common \
	-f lavfi -i "testsrc2=size=640x360:rate=25${overlay}" -t 8 \
	-c:v libx264 $x264 -profile:v main -level:v 3.0 -pix_fmt yuv420p \
	-g 50 -keyint_min 50 -sc_threshold 0 -bf 0 \
	-b:v 400k -maxrate 400k -bufsize 800k \
	-bsf:v h264_mp4toannexb -f h264 "$out_sample"

# The B-frame clip: 2 B-frames with pyramid, GOP 25 (1 s) at 25 fps, 3 s,
# 160x96. Tests use it to check reordering (PTS != DTS) in the segmenter.
ffmpeg $common \
	-f lavfi -i "testsrc2=size=160x96:rate=25" -t 3 \
	-c:v libx264 $x264 -profile:v high -pix_fmt yuv420p \
	-g 25 -keyint_min 25 -sc_threshold 0 -bf 2 -b_strategy 0 \
	-b:v 100k \
	-bsf:v h264_mp4toannexb -f h264 "$out_bframes"

ls -l "$out_sample" "$out_bframes"

# Two tiny H.265 clips (tests only): 160x96, 25 fps, an IRAP every 25 frames,
# B-frames; closed GOPs (an IDR every second) and open GOPs (an IDR first,
# then CRA pictures with leading RASL pictures).
x265="log-level=error:keyint=25:min-keyint=25:scenecut=0:crf=38:frame-threads=1:pools=1"
ffmpeg $common -f lavfi -i testsrc2=size=160x96:rate=25 -t 2 -pix_fmt yuv420p -c:v libx265 -preset ultrafast \
	-x265-params "$x265:open-gop=0:bframes=2" -f hevc "$here/h265-closed.h265"
ffmpeg $common -f lavfi -i testsrc2=size=160x96:rate=25 -t 3 -pix_fmt yuv420p -c:v libx265 -preset ultrafast \
	-x265-params "$x265:open-gop=1:bframes=4:b-adapt=2" -f hevc "$here/h265-open.h265"
