// player.ts: the verified player. One pipeline, no player library fetching
// on its own: the hub's playback socket (SPEC §15.5) → this page's
// Verifier (viewchain.ts: the hub's session chain, the camera's signature on
// every record, the record chain, the bytes against the record) → for a
// sealed segment or part (SPEC §17.2, magic "CCE1"), decryption on this
// device (e2ee.ts: the camera-signed key envelope, the account's viewing
// key, WebCrypto AES-GCM; the records hash the sealed bytes, so it comes
// after verification) → a SourceBuffer of
// MediaSource, or of ManagedMediaSource where MediaSource is missing (iPhone
// Safari, iOS 17.1+), as go2rtc's player does. Nothing reaches the video
// element before it verified; on a break the player takes nothing more,
// pauses, and says what broke — once every segment it verified before the
// break is in the buffer, so nothing shown as verified is lost.
//
// Live, the page asks for parts (SPEC §7.3, §15.5): the open segment's
// byte ranges, each signed by the camera, sent as the camera records them.
// Each part is checked (its link, the camera's signature on its statement,
// its place after the previous part and the previous record, its bytes)
// and appended at once, the state saying "unverified part": the camera's
// word, not yet bound into the chain. The segment's record, in a tail
// frame, binds the parts (the SHA-256 and size of their bytes and the
// rest, the camera's signature, the record's link); then the state is
// "verified". A record that does not bind the parts played is a break like
// any other: playback stops, and the parts it did not bind are taken out
// of the buffer. A sealed chunk that does not open stops playback the same
// way, its ciphertext never appended: "cannot-decrypt" when this account
// has no key for it, "broken" when the envelope is not the camera's or the
// ciphertext does not open under the key it names.
import { bytesToHex, randomBytes } from "./bytes";
import { Stream } from "./feedchain";
import { BreakError, Verifier } from "./viewchain";
import { decodeStart } from "./fmp4";
import { DecryptError, isSealed, type Keyring } from "./e2ee";

export type PlayerState =
  | { kind: "connecting" }
  | { kind: "verified"; segments: number; skipped: bigint; seq: bigint; start: Date; first: Date; codec: string }
  /** parts of record #seq played, each signed by the camera, that its record has not bound into the chain yet */
  | { kind: "unverified-part"; parts: number; seq: bigint; segments: number; first: Date | null; codec: string }
  | { kind: "unsupported"; codec: string; video: string }
  /** a sealed segment or part this account holds no key for (or its viewing key could not be made): playback stopped */
  | { kind: "cannot-decrypt"; message: string; segments: number }
  | { kind: "broken"; brk: string; message: string; segments: number; seconds: number }
  | { kind: "ended"; segments: number }
  | { kind: "closed"; code: number; reason: string };

export interface PlayOptions {
  camera: string; // the camera the user paired or was granted (from the ledger)
  hub: string; // the camera's hub on the ledger: the only key the session chain may be signed with
  stream: Stream;
  from?: Date; // recorded playback from the key frame at or before this time; none: live
  to?: Date;
  video: HTMLVideoElement;
  onState: (s: PlayerState) => void;
  /** opens sealed segments and parts with the logged-in account's viewing key; none: a sealed one cannot play */
  keyring?: Keyring;
}

export interface Player {
  stop(): void;
  /** seekTo moves playback to a wall-clock time inside what is buffered. */
  seekTo(t: Date): boolean;
  /** position is the wall-clock time of the frame shown (from the first
   * segment's signed start), null before anything played. */
  position(): Date | null;
}

type MSCtor = typeof MediaSource;

/** mediaSourceClass is MediaSource, or ManagedMediaSource where only that exists. */
export function mediaSourceClass(): { MS: MSCtor; managed: boolean } | null {
  const w = window as unknown as { ManagedMediaSource?: MSCtor; MediaSource?: MSCtor };
  if (w.MediaSource) return { MS: w.MediaSource, managed: false };
  if (w.ManagedMediaSource) return { MS: w.ManagedMediaSource, managed: true };
  return null;
}

const KEEP_SECONDS = 60; // live: how much is kept behind the play position
const LIVE_SLACK_SECONDS = 0.5; // live: how far behind the newest segment's start playback may fall
// Live with parts: playback aims at PART_LAG_SECONDS behind the buffered end
// (a part or two: 200 ms parts arrive 5 a second, so it seldom runs dry),
// playing up to MAX_RATE times faster while it is further behind. It never
// seeks into the middle of a segment (the browser would decode from the
// segment's key frame on, and a seek that takes longer than it gains never
// catches up): more than PART_JUMP_SECONDS behind, it jumps to the start of
// the newest segment, a key frame, and plays faster from there.
const PART_LAG_SECONDS = 0.3;
const PART_JUMP_SECONDS = 1.5;
const MAX_RATE = 1.5;
const RESTART_SECONDS = 1; // a segment this far off its signed start on the media timeline is moved to it

/** One verified piece of media for the SourceBuffer, in order. */
interface Chunk {
  data: Uint8Array;
  seconds: number; // the signed duration of a whole segment; 0 for a part or a tail's rest
  wall: number | null; // where it starts on the wall clock (ms): a record's signed start; for part 0, the previous record's end; null: not known
  decode: number | null; // its first decode time in seconds, when it holds an init section and a fragment
  part: { seq: bigint } | null; // a part (or a tail's rest) of record seq's segment
}

export function play(o: PlayOptions): Player {
  const nonce = randomBytes(16);
  const q = new URLSearchParams({ stream: o.stream, nonce: bytesToHex(nonce) });
  if (o.from) q.set("from", o.from.toISOString());
  if (o.to) q.set("to", o.to.toISOString());
  const live = !o.from;
  if (live) q.set("parts", "1");
  const verifier = new Verifier(o.hub, o.camera, nonce, o.stream);
  const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/api/v1/devices/${o.camera}/play?${q}`;
  const ws = new WebSocket(url);
  ws.binaryType = "arraybuffer";

  let stopped = false; // halted: a break, a stop or the hub closing; nothing more plays
  let draining: (() => void) | null = null; // after a break: reports it once the verified queue is appended
  let finished = false; // the range ended with its signed end: what is queued still plays
  let ms: MediaSource | null = null;
  let sb: SourceBuffer | null = null;
  let mime = "";
  let codec = "";
  const queue: Chunk[] = [];
  // One media timeline for the whole session: a segment whose decode time
  // is more than a second away from where its signed start puts it (the
  // camera's decode times began again: its agent restarted) is moved there
  // with timestampOffset; otherwise the offset stays as it is.
  let shift = 0;
  let origin: { decode: number; wall: number } | null = null;
  let appended = 0; // the signed duration of the segment appended last
  let appendedPart = false; // the chunk appended last was a part or a tail's rest: parts are flowing
  let keyStart: number | null = null; // where the newest segment begins on the media timeline: a key frame
  let keyAt: number | null = null; // the same, for the chunk being appended (-1: the buffer was empty)
  let segments = 0;
  let seconds = 0; // the verified segments' signed durations
  let skipped = 0n;
  let playing = false; // the first media is in the buffer and playback started
  // wall clock ↔ media time, from the first segment verified (once both are known)
  let anchor: { wall: number; media: number } | null = null;
  let firstStartWall = 0;
  // The last record verified (its seq and where it ends on the wall clock),
  // and where on the media timeline the parts of a segment its record has
  // not bound yet begin: what a break takes out of the buffer.
  let sealed: { seq: bigint; end: number } | null = null;
  let unbound: { seq: bigint; from: number } | null = null;
  let parts = 0; // parts of the open segment

  const state = (s: PlayerState) => {
    if (!stopped || s.kind === "broken" || s.kind === "cannot-decrypt" || s.kind === "closed" || s.kind === "ended") o.onState(s);
  };
  const halt = () => {
    stopped = true;
    queue.length = 0;
    o.video.pause();
    if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.close(1000);
  };
  // A break stops the input at once; what verified before it still goes
  // into the buffer (the person may scrub back through it), then the
  // break is reported. A second failure while draining reports at once.
  const broken = (e: unknown) => {
    if (draining) return draining();
    const brk = e instanceof BreakError ? e.brk : e instanceof DecryptError ? (e.reason === "envelope" ? "envelope" : "decrypt") : "player";
    const noKey = e instanceof DecryptError && (e.reason === "no-key" || e.reason === "wallet");
    const message = e instanceof Error ? e.message : String(e);
    // Parts whose record never bound them are not kept: those queued are
    // dropped, those appended taken out of the buffer once the rest is in.
    const bound = (c: Chunk) => !c.part || (sealed !== null && c.part.seq <= sealed.seq);
    const kept = queue.splice(0).filter(bound);
    const cut = unbound && !(sealed && unbound.seq <= sealed.seq) ? unbound.from : null;
    halt();
    o.video.pause();
    let reported = false;
    let removed = false;
    const report = () => {
      if (reported) return;
      reported = true;
      queue.length = 0;
      o.video.pause();
      o.onState(noKey ? { kind: "cannot-decrypt", message, segments } : { kind: "broken", brk, message, segments, seconds });
    };
    draining = () => {
      if (reported) return;
      if (cut === null || removed || !sb || ms?.readyState !== "open") return report();
      if (sb.updating) return; // its updateend drains again
      removed = true;
      const b = sb.buffered;
      const end = b.length ? b.end(b.length - 1) : 0;
      if (end <= cut) return report();
      try {
        sb.remove(cut, end); // its updateend reports
      } catch {
        report();
      }
    };
    if (!sb || ms?.readyState !== "open" || kept.length === 0) return draining();
    queue.push(...kept);
    pump();
  };

  const pump = () => {
    if ((stopped && !draining) || !sb || sb.updating) return;
    if (queue.length === 0) {
      if (draining) return draining();
      if (finished && ms?.readyState === "open") ms.endOfStream();
      return;
    }
    try {
      if (!draining) trim();
      if (sb.updating) return;
      const next = queue.shift()!;
      if (next.part) appendedPart = true;
      else {
        appended = next.seconds;
        appendedPart = false;
      }
      if (next.decode !== null && next.wall !== null) {
        if (!origin) origin = { decode: next.decode, wall: next.wall };
        const want = origin.decode + (next.wall - origin.wall) / 1000;
        if (Math.abs(next.decode + shift - want) > RESTART_SECONDS) {
          shift = want - next.decode;
          sb.timestampOffset = shift;
        }
      }
      if (next.part && (!unbound || unbound.seq !== next.part.seq)) {
        // The first bytes of a segment whose record has not come: all that
        // is buffered after what is in the buffer now (chunks go in in order).
        const b = sb.buffered;
        unbound = { seq: next.part.seq, from: b.length ? b.end(b.length - 1) : 0 };
      }
      if (!next.part || next.decode !== null) {
        // A whole segment or part 0: a key frame, where the buffer ends now.
        const b = sb.buffered;
        keyAt = b.length ? b.end(b.length - 1) : -1;
      }
      if (next.data.length > 0) sb.appendBuffer(next.data as BufferSource);
      else pump();
    } catch (e) {
      broken(e);
    }
  };
  const trim = () => {
    if (!live || !sb || sb.buffered.length === 0) return;
    const start = sb.buffered.start(0);
    const cut = o.video.currentTime - KEEP_SECONDS;
    if (cut > start + 10) sb.remove(start, cut);
  };

  // Live: without parts a segment can play only once it arrived whole, so
  // the least a live view can lag is one segment. Whenever playback is
  // further behind than that (the hub's first live segment was already
  // closed; a stall), it jumps to the start of the segment appended last.
  // With parts flowing, the buffered end is a part behind the camera:
  // playback keeps PART_LAG_SECONDS behind it.
  const catchUp = () => {
    const b = sb!.buffered;
    if (!playing || b.length === 0 || o.video.seeking) return;
    const start = b.start(b.length - 1);
    const end = b.end(b.length - 1);
    const behind = end - o.video.currentTime;
    if (!appendedPart) {
      if (o.video.playbackRate !== 1) o.video.playbackRate = 1;
      if (behind > appended + LIVE_SLACK_SECONDS) o.video.currentTime = Math.max(start, end - appended);
      return;
    }
    const key = keyStart === null ? start : Math.max(start, keyStart);
    if (behind > PART_JUMP_SECONDS && key > o.video.currentTime + 0.5) {
      o.video.currentTime = key;
      return;
    }
    // Faster while behind, at the camera's pace once near the edge (with
    // some hysteresis, so that the rate does not flap with each part).
    if (behind > PART_LAG_SECONDS + 0.25) o.video.playbackRate = Math.min(MAX_RATE, 1 + behind - PART_LAG_SECONDS);
    else if (behind < PART_LAG_SECONDS + 0.05 && o.video.playbackRate !== 1) o.video.playbackRate = 1;
  };

  const openSource = (): Promise<void> => {
    const got = mediaSourceClass();
    if (!got) return Promise.reject(new Error("this browser has no Media Source Extensions: use the download instead"));
    ms = new got.MS();
    if (got.managed) {
      o.video.disableRemotePlayback = true;
      (o.video as HTMLVideoElement & { srcObject: unknown }).srcObject = ms;
    } else {
      o.video.src = URL.createObjectURL(ms);
    }
    return new Promise((resolve) => ms!.addEventListener("sourceopen", () => resolve(), { once: true }));
  };

  const onCodec = async (m: { codec: string; mime: string; video: string }) => {
    const got = mediaSourceClass();
    if (!got || !got.MS.isTypeSupported(m.mime)) {
      halt();
      o.onState({ kind: "unsupported", codec: m.codec, video: m.video });
      return;
    }
    codec = m.codec;
    if (sb && m.mime !== mime) {
      sb.changeType(m.mime);
      mime = m.mime;
      return;
    }
    mime = m.mime;
    if (!ms) await openSource();
    if (stopped) return;
    sb = ms!.addSourceBuffer(mime);
    sb.mode = "segments";
    sb.addEventListener("updateend", () => {
      if (stopped && !draining) return; // a stop or the hub closing: nothing plays on
      if (keyAt !== null) {
        const b = sb!.buffered;
        keyStart = keyAt >= 0 || b.length === 0 ? keyAt : b.start(b.length - 1);
        keyAt = null;
      }
      if (!playing && sb!.buffered.length > 0) {
        playing = true;
        o.video.currentTime = sb!.buffered.start(0);
        if (!draining) o.video.play().catch(() => undefined); // muted autoplay; a user gesture otherwise
      }
      // The first verified segment's signed start is where the media timeline begins
      // (a session that began with parts learns it from their record).
      if (!anchor && firstStartWall && sb!.buffered.length > 0) anchor = { wall: firstStartWall, media: sb!.buffered.start(0) };
      if (live && !draining) catchUp();
      pump();
    });
    sb.addEventListener("error", () => broken(new Error("the browser could not decode a verified segment")));
    pump();
  };

  // Playback jumps over a gap (a camera outage) to the next buffered range.
  o.video.addEventListener("waiting", () => {
    const b = o.video.buffered;
    for (let i = 0; i < b.length; i++) {
      if (b.start(i) > o.video.currentTime) {
        o.video.currentTime = b.start(i);
        return;
      }
    }
  });

  // open decrypts a verified chunk if it is sealed (plaintext passes as it
  // is): a whole segment (index null), a part (its index + 1), a tail's rest
  // (the parts' count + 1).
  const streamNo = o.stream === "sub" ? 1 : 0;
  const open = async (data: Uint8Array, epoch: bigint, seq: bigint, index: number | null): Promise<Uint8Array> => {
    if (!isSealed(data)) return data.slice();
    if (!o.keyring) throw new DecryptError("no-key", "cannot decrypt: this video is end-to-end encrypted and this page has no viewing key (log in with an account that may watch it)");
    return o.keyring.open(o.camera, epoch, streamNo, seq, data, index);
  };

  let pending: Promise<void> = Promise.resolve();
  ws.addEventListener("open", () => ws.send(JSON.stringify({ type: "auth", cookie: true })));
  ws.addEventListener("message", (ev) => {
    if (stopped) return;
    if (typeof ev.data === "string") {
      let m: { type?: string; nonce?: string; hub?: string; codec?: string; mime?: string; video?: string };
      try {
        m = JSON.parse(ev.data);
      } catch {
        return broken(new Error("the hub sent a text message that is not JSON"));
      }
      if (m.type === "start") {
        // The session chain is checked against the ledger's hub and our nonce whatever this says;
        // a hub naming another key or nonce is already wrong.
        if (m.nonce !== bytesToHex(nonce) || (m.hub ?? "").toLowerCase() !== o.hub.toLowerCase()) return broken(new Error("the hub's session names another nonce or hub key than this page's"));
        state({ kind: "connecting" });
      } else if (m.type === "codec" && m.codec && m.mime) {
        pending = pending.then(() => onCodec(m as { codec: string; mime: string; video: string })).catch(broken);
      }
      return;
    }
    const frame = new Uint8Array(ev.data as ArrayBuffer);
    pending = pending
      .then(async () => {
        if (stopped || finished) return;
        const c = verifier.frame(frame);
        if (!c) {
          state({ kind: "ended", segments });
          return;
        }
        // Verified over the sealed bytes; now opened, if sealed, before anything is queued.
        const data =
          c.kind === "part"
            ? await open(c.data, c.part.epoch, c.part.seq, c.part.index + 1)
            : c.kind === "tail" && c.data.length === 0
              ? new Uint8Array(0)
              : await open(c.data, c.record.epoch, c.record.seq, c.kind === "tail" ? c.parts + 1 : null);
        if (stopped || finished) return;
        if (c.kind === "part") {
          // Part 0 starts the segment after the last record (where that one
          // ended on the wall clock, as far as the page knows before the
          // record comes); it holds the init section and the first fragment.
          const first = c.part.index === 0;
          const wall = first && sealed && c.part.seq === sealed.seq + 1n ? sealed.end : null;
          parts = c.part.index + 1;
          queue.push({ data, seconds: 0, wall, decode: first ? decodeStart(data) : null, part: { seq: c.part.seq } });
          pump();
          state({ kind: "unverified-part", parts, seq: c.part.seq, segments, first: firstStartWall ? new Date(firstStartWall) : null, codec });
          return;
        }
        segments++;
        seconds += Number(c.record.duration) / 1e9;
        skipped += c.skipped;
        const start = Number(c.record.start / 1_000_000n);
        if (segments === 1) firstStartWall = start;
        sealed = { seq: c.record.seq, end: start + Number(c.record.duration / 1_000_000n) };
        parts = 0;
        if (c.kind === "tail") {
          // Its parts are in the buffer (or queued): the rest follows them.
          appended = Number(c.record.duration) / 1e9;
          queue.push({ data, seconds: 0, wall: null, decode: null, part: { seq: c.record.seq } });
        } else queue.push({ data, seconds: Number(c.record.duration) / 1e9, wall: start, decode: decodeStart(data), part: null });
        pump();
        state({ kind: "verified", segments, skipped, seq: c.record.seq, start: new Date(start), first: new Date(firstStartWall), codec });
      })
      .catch(broken);
  });
  ws.addEventListener("close", (ev) => {
    pending = pending.then(() => {
      if (stopped || finished) return;
      if (ev.code === 1000) {
        try {
          verifier.finish(!!o.to);
        } catch (e) {
          return broken(e);
        }
        finished = true; // every segment verified: the queued ones still play
        pump();
        o.onState({ kind: "ended", segments });
        return;
      }
      stopped = true;
      o.onState({ kind: "closed", code: ev.code, reason: ev.reason || "the connection to the hub closed" });
    });
  });

  return {
    stop() {
      draining = null;
      halt();
    },
    position(): Date | null {
      return anchor ? new Date(anchor.wall + (o.video.currentTime - anchor.media) * 1000) : null;
    },
    seekTo(t: Date): boolean {
      if (!anchor) return false;
      const target = anchor.media + (t.getTime() - anchor.wall) / 1000;
      const b = o.video.buffered;
      for (let i = 0; i < b.length; i++) {
        if (target >= b.start(i) && target <= b.end(i)) {
          o.video.currentTime = target;
          return true;
        }
      }
      return false;
    },
  };
}
