// fmp4.ts: where a verified segment sits on its media timeline — the
// first track fragment's decode time (tfdt) over its track's timescale
// (mdhd), read from the segment's own init section and fragment (SPEC §7.1:
// every segment is init ‖ fragment). The player uses it to keep a recorded
// range on one timeline when the camera's decode times start again (its
// agent restarted). It only reads boxes; a segment it cannot read is
// played where its bytes put it.
interface Box {
  type: string;
  body: number; // where its content starts
  end: number;
}

function* boxes(b: Uint8Array, from: number, to: number): Generator<Box> {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  for (let p = from; p + 8 <= to; ) {
    let size = dv.getUint32(p);
    let hdr = 8;
    if (size === 1) {
      if (p + 16 > to) return;
      size = Number(dv.getBigUint64(p + 8));
      hdr = 16;
    } else if (size === 0) size = to - p;
    if (size < hdr || p + size > to) return;
    yield { type: String.fromCharCode(b[p + 4], b[p + 5], b[p + 6], b[p + 7]), body: p + hdr, end: p + size };
    p += size;
  }
}

const child = (b: Uint8Array, parent: { body: number; end: number }, type: string): Box | undefined => {
  for (const x of boxes(b, parent.body, parent.end)) if (x.type === type) return x;
  return undefined;
};

/** decodeStart is the segment's first decode time in seconds, or null. */
export function decodeStart(seg: Uint8Array): number | null {
  const dv = new DataView(seg.buffer, seg.byteOffset, seg.byteLength);
  const all = { body: 0, end: seg.length };
  const moov = child(seg, all, "moov");
  const moof = child(seg, all, "moof");
  const traf = moof && child(seg, moof, "traf");
  const tfhd = traf && child(seg, traf, "tfhd");
  const tfdt = traf && child(seg, traf, "tfdt");
  if (!moov || !tfhd || !tfdt || tfhd.end - tfhd.body < 8 || tfdt.end - tfdt.body < 8) return null;
  const track = dv.getUint32(tfhd.body + 4);
  const v1 = seg[tfdt.body] === 1;
  if (v1 && tfdt.end - tfdt.body < 12) return null;
  const t = v1 ? Number(dv.getBigUint64(tfdt.body + 4)) : dv.getUint32(tfdt.body + 4);
  for (const trak of boxes(seg, moov.body, moov.end)) {
    if (trak.type !== "trak") continue;
    const tkhd = child(seg, trak, "tkhd");
    const mdia = child(seg, trak, "mdia");
    const mdhd = mdia && child(seg, mdia, "mdhd");
    if (!tkhd || !mdhd) continue;
    const id = seg[tkhd.body] === 1 ? tkhd.body + 20 : tkhd.body + 12;
    const ts = seg[mdhd.body] === 1 ? mdhd.body + 20 : mdhd.body + 12;
    if (id + 4 > tkhd.end || ts + 4 > mdhd.end || dv.getUint32(id) !== track) continue;
    const scale = dv.getUint32(ts);
    return scale ? t / scale : null;
  }
  return null;
}
