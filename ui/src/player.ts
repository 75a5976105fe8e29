// player.ts: the verified player. One pipeline, no player library fetching
// on its own: the hub's playback socket (SPEC §15.5) → this page's
// Verifier (viewchain.ts: the hub's session chain, the camera's signature on
// every record, the record chain, the bytes against the record) → (the
// end-to-end encryption issue adds decryption here) → a SourceBuffer of
// MediaSource, or of ManagedMediaSource where MediaSource is missing (iPhone
// Safari, iOS 17.1+), as go2rtc's player does. Nothing reaches the video
// element before it verified; on a break the player takes nothing more,
// pauses, and says what broke — once every segment it verified before the
// break is in the buffer, so nothing shown as verified is lost.
import { bytesToHex, randomBytes } from "./bytes";
import { Stream } from "./feedchain";
import { BreakError, Verifier } from "./viewchain";
import { decodeStart } from "./fmp4";

export type PlayerState =
  | { kind: "connecting" }
  | { kind: "verified"; segments: number; skipped: bigint; seq: bigint; start: Date; first: Date; codec: string }
  | { kind: "unsupported"; codec: string; video: string }
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
const RESTART_SECONDS = 1; // a segment this far off its signed start on the media timeline is moved to it

export function play(o: PlayOptions): Player {
  const nonce = randomBytes(16);
  const q = new URLSearchParams({ stream: o.stream, nonce: bytesToHex(nonce) });
  if (o.from) q.set("from", o.from.toISOString());
  if (o.to) q.set("to", o.to.toISOString());
  const live = !o.from;
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
  const queue: { data: Uint8Array; seconds: number; wall: number; decode: number | null }[] = [];
  // One media timeline for the whole session: a segment whose decode time
  // is more than a second away from where its signed start puts it (the
  // camera's decode times began again: its agent restarted) is moved there
  // with timestampOffset; otherwise the offset stays as it is.
  let shift = 0;
  let origin: { decode: number; wall: number } | null = null;
  let appended = 0; // the signed duration of the segment appended last
  let segments = 0;
  let seconds = 0; // the verified segments' signed durations
  let skipped = 0n;
  // wall clock ↔ media time, from the first segment appended
  let anchor: { wall: number; media: number } | null = null;
  let firstStartWall = 0;

  const state = (s: PlayerState) => {
    if (!stopped || s.kind === "broken" || s.kind === "closed" || s.kind === "ended") o.onState(s);
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
    const brk = e instanceof BreakError ? e.brk : "player";
    const message = e instanceof Error ? e.message : String(e);
    const kept = queue.splice(0);
    halt();
    o.video.pause();
    let reported = false;
    draining = () => {
      if (reported) return;
      reported = true;
      queue.length = 0;
      o.video.pause();
      o.onState({ kind: "broken", brk, message, segments, seconds });
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
      appended = next.seconds;
      if (next.decode !== null) {
        if (!origin) origin = { decode: next.decode, wall: next.wall };
        const want = origin.decode + (next.wall - origin.wall) / 1000;
        if (Math.abs(next.decode + shift - want) > RESTART_SECONDS) {
          shift = want - next.decode;
          sb.timestampOffset = shift;
        }
      }
      sb.appendBuffer(next.data as BufferSource);
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

  // Live: a segment can play only once it arrived whole, so the least a
  // live view can lag is one segment. Whenever playback is further behind
  // than that (the hub's first live segment was already closed; a stall),
  // it jumps to the start of the segment appended last.
  const catchUp = () => {
    const b = sb!.buffered;
    if (!anchor || b.length === 0 || o.video.seeking) return;
    const end = b.end(b.length - 1);
    if (end - o.video.currentTime > appended + LIVE_SLACK_SECONDS) o.video.currentTime = Math.max(b.start(b.length - 1), end - appended);
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
      if (!anchor && sb!.buffered.length > 0) {
        anchor = { wall: firstStartWall, media: sb!.buffered.start(0) };
        o.video.currentTime = anchor.media;
        if (!draining) o.video.play().catch(() => undefined); // muted autoplay; a user gesture otherwise
      }
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
      .then(() => {
        if (stopped || finished) return;
        const c = verifier.frame(frame);
        if (!c) {
          state({ kind: "ended", segments });
          return;
        }
        segments++;
        seconds += Number(c.record.duration) / 1e9;
        skipped += c.skipped;
        const start = Number(c.record.start / 1_000_000n);
        if (segments === 1) firstStartWall = start;
        const data = c.data.slice();
        queue.push({ data, seconds: Number(c.record.duration) / 1e9, wall: start, decode: decodeStart(data) });
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
