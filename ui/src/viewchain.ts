// viewchain.ts: the hub's session chain over what it forwards to a viewer
// (SPEC §15), checked in the page: the link layout (§15.1), the playback
// frames (§15.3) and a Verifier that names the first break (§15.2) exactly
// as internal/viewchain does, so the page and `camchain watch` agree on
// every session. With feedchain.ts it checks, for each segment, the hub's
// signature on its link, the camera's signature on its record, the record's
// place in the camera's chain, and the bytes against the record; and, for a
// live session that asked for parts (§7.3, §15.5), each part of the open
// segment as it arrives and, when the segment's record comes in a tail
// frame, that the record seals the parts.
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, checksum, fromHex, utf8ToBytes } from "./bytes";
import {
  equalBytes,
  isZero,
  KnownSigner,
  labelled,
  MAX_RECORD_SIZE,
  MAX_SEGMENT_BYTES,
  Part,
  PART_SIZE,
  partEnd,
  parsePart,
  parseRecord,
  Record,
  segmentMismatch,
  addressOf,
  recoverKey,
  Stream,
  verifyPart,
  verifyPartData,
  verifyPartNext,
  verifySealed,
} from "./feedchain";

export const LINK_VERSION = 1;
export const LINK_BODY_SIZE = 1 + 1 + 20 + 16 + 16 + 20 + 8 + 8 + 32 + 32;
export const LINK_SIZE = LINK_BODY_SIZE + 65;
export { MAX_SEGMENT_BYTES };
export const MAX_FRAME = 1 + 2 + MAX_RECORD_SIZE + LINK_SIZE + MAX_SEGMENT_BYTES;
const LABEL_LINK = utf8ToBytes("camchain/v1/view-link");

export type Kind = "segment" | "end" | "part";

export interface Link {
  kind: Kind;
  hub: Uint8Array;
  session: Uint8Array;
  nonce: Uint8Array;
  camera: Uint8Array;
  epoch: bigint;
  index: bigint;
  prev: Uint8Array;
  record: Uint8Array;
  sig: Uint8Array;
  hash: Uint8Array;
}

const short = (h: Uint8Array): string => bytesToHex(h.subarray(0, 4));

/** parseLink decodes exactly LINK_SIZE bytes strictly; it does not check the signature. */
export function parseLink(b: Uint8Array): Link {
  if (b.length !== LINK_SIZE) throw new Error(`malformed viewer-chain link: ${b.length} bytes, want ${LINK_SIZE}`);
  if (b[0] !== LINK_VERSION) throw new Error(`malformed viewer-chain link: unknown version ${b[0]}`);
  const k = b[1];
  if (k !== 1 && k !== 2 && k !== 3) throw new Error(`malformed viewer-chain link: unknown kind ${k}`);
  let p = 2;
  const take = (n: number) => b.slice(p, (p += n));
  const hub = take(20),
    session = take(16),
    nonce = take(16),
    camera = take(20);
  const dv = new DataView(b.buffer, b.byteOffset, b.length);
  const epoch = dv.getBigUint64(p);
  const index = dv.getBigUint64(p + 8);
  p += 16;
  const prev = take(32),
    record = take(32),
    sig = take(65);
  const kind: Kind = k === 1 ? "segment" : k === 2 ? "end" : "part";
  if (index === 0n && !isZero(prev)) throw new Error("malformed viewer-chain link: link 0 must have a zero prev");
  if (index > 0n && isZero(prev)) throw new Error(`malformed viewer-chain link: link ${index} has a zero prev`);
  if (kind !== "end" && isZero(record)) throw new Error(`malformed viewer-chain link: ${kind} link ${index} has a zero record hash`);
  if (kind === "end" && !isZero(record)) throw new Error(`malformed viewer-chain link: end link ${index} names a record`);
  return { kind, hub, session, nonce, camera, epoch, index, prev, record, sig, hash: labelled(LABEL_LINK, b.subarray(0, LINK_BODY_SIZE)) };
}

/** One decoded binary playback message; its arrays point into the message. */
export type Frame =
  /** segment: record ‖ link ‖ segment bytes; tail: the record closing the parts before it ‖ link ‖ the segment's bytes after them */
  | { type: "segment" | "tail"; record: Uint8Array; link: Uint8Array; data: Uint8Array }
  /** part: the camera's part statement (§7.3) ‖ link (kind part) ‖ the part's bytes */
  | { type: "part"; statement: Uint8Array; link: Uint8Array; data: Uint8Array }
  | { type: "end"; link: Uint8Array };

/** decodeFrame splits one binary playback message, bounds first (§15.3). */
export function decodeFrame(b: Uint8Array): Frame {
  if (b.length === 0 || b.length > MAX_FRAME) throw new Error(`malformed viewer-chain link: frame of ${b.length} bytes (1..${MAX_FRAME})`);
  if (b[0] === 1 || b[0] === 4) {
    if (b.length < 3) throw new Error(`malformed viewer-chain link: segment frame of ${b.length} bytes`);
    const n = (b[1] << 8) | b[2];
    if (n > MAX_RECORD_SIZE || b.length < 3 + n + LINK_SIZE) throw new Error(`malformed viewer-chain link: segment frame: record of ${n} bytes in a frame of ${b.length}`);
    return { type: b[0] === 1 ? "segment" : "tail", record: b.subarray(3, 3 + n), link: b.subarray(3 + n, 3 + n + LINK_SIZE), data: b.subarray(3 + n + LINK_SIZE) };
  }
  if (b[0] === 3) {
    if (b.length < 1 + PART_SIZE + LINK_SIZE) throw new Error(`malformed viewer-chain link: part frame of ${b.length} bytes`);
    return { type: "part", statement: b.subarray(1, 1 + PART_SIZE), link: b.subarray(1 + PART_SIZE, 1 + PART_SIZE + LINK_SIZE), data: b.subarray(1 + PART_SIZE + LINK_SIZE) };
  }
  if (b[0] === 2) {
    if (b.length !== 1 + LINK_SIZE) throw new Error(`malformed viewer-chain link: end frame of ${b.length} bytes, want ${1 + LINK_SIZE}`);
    return { type: "end", link: b.subarray(1) };
  }
  throw new Error(`malformed viewer-chain link: unknown frame type ${b[0]}`);
}

export type Break =
  | "after-end"
  | "malformed"
  | "forged"
  | "foreign"
  | "missing"
  | "replayed"
  | "substituted"
  | "wrong-stream"
  | "record-chain"
  | "altered"
  | "truncated"
  | "part-chain";

/** BreakError is the first break a Verifier found. */
export class BreakError extends Error {
  constructor(
    readonly brk: Break,
    readonly index: bigint,
    readonly seq: bigint | undefined,
    readonly detail: string,
  ) {
    super(`viewer chain broken at link #${index}${seq !== undefined ? ` (record #${seq})` : ""}: ${brk}: ${detail}`);
  }
}

export interface Checked {
  /** segment: a segment delivered whole; tail: the record that sealed the parts before it */
  kind: "segment" | "tail";
  link: Link;
  record: Record;
  /** records of the chain the hub did not forward between the previous delivered one and this one */
  skipped: bigint;
  /** segment: the segment's bytes, verified against the record; tail: the
   * segment's bytes after the parts (often none), the whole verified */
  data: Uint8Array;
  /** tail: how many parts the record sealed */
  parts: number;
}

/** CheckedPart is a part the Verifier accepted: signed by the camera,
 * following the previous part and the previous record, its bytes its
 * statement's. It is not yet bound into the chain: its record seals it
 * (a tail) when the segment closes; until then it is the camera's word
 * about a segment not yet recorded. */
export interface CheckedPart {
  kind: "part";
  link: Link;
  part: Part;
  /** the part's bytes, verified against its statement */
  data: Uint8Array;
}

/** Verifier checks one session as it arrives; after a break every later call fails the same way. */
export class Verifier {
  private started = false;
  private session: Uint8Array = new Uint8Array(16);
  private epoch = 0n;
  private next = 0n;
  private prev: Uint8Array = new Uint8Array(32);
  private last: { seq: bigint; hash: Uint8Array } | null = null;
  private ended = false;
  private broken: BreakError | null = null;
  // The open segment's parts: the last one accepted (null: none open), the
  // SHA-256 of their bytes so far, and how many parts.
  private open: Part | null = null;
  private openHash: ReturnType<typeof sha256.create> | null = null;
  private openCount = 0;
  private readonly hub: string;
  private readonly camera: string;
  // The hub's and the camera's keys, once a signature recovered to them:
  // later signatures are checked against the key (KnownSigner: the same
  // answer as recovering, several times faster).
  private readonly known = new Map<string, KnownSigner>();

  /** hub and camera are EIP-55 or lower-case addresses the page knows from the ledger, not from the hub's word. */
  constructor(hub: string, camera: string, private readonly nonce: Uint8Array, private readonly stream: Stream) {
    this.hub = hub.toLowerCase();
    this.camera = camera.toLowerCase();
    if (nonce.length !== 16) throw new Error("a viewer nonce is 16 bytes");
  }

  get isEnded(): boolean {
    return this.ended;
  }

  /** The open segment's parts: the last part accepted and how many, or null when no parts await their record. */
  get openParts(): { last: Part; count: number } | null {
    return this.open ? { last: this.open, count: this.openCount } : null;
  }

  /** signer is the lower-case address whose key sig over digest recovers
   * to ("" when it recovers to none): checked against expect's key when a
   * signature recovered to it before, else recovered. */
  private signer(digest: Uint8Array, sig: Uint8Array, expect: string): string {
    if (this.known.get(expect)?.recovers(digest, sig)) return expect;
    try {
      const key = recoverKey(digest, sig);
      const a = addressOf(key).toLowerCase();
      if (a === expect && !this.known.has(a)) this.known.set(a, new KnownSigner(key));
      return a;
    } catch {
      return "";
    }
  }

  private fail(brk: Break, seq: bigint | undefined, detail: string): BreakError {
    this.broken = new BreakError(brk, this.next, seq, detail);
    return this.broken;
  }

  private checkLink(raw: Uint8Array, want: Kind): Link {
    if (this.broken) throw this.broken;
    if (this.ended) throw this.fail("after-end", undefined, `a ${want} arrived after the hub's signed end of the session`);
    let l: Link;
    try {
      l = parseLink(raw);
    } catch (e) {
      throw this.fail("malformed", undefined, (e as Error).message);
    }
    const signer = this.signer(l.hash, l.sig, this.hub);
    if (signer !== this.hub || "0x" + bytesToHex(l.hub) !== this.hub) throw this.fail("forged", undefined, `link #${l.index} is not signed by the hub ${checksum(hexBytes(this.hub))}`);
    if (!equalBytes(l.nonce, this.nonce)) throw this.fail("foreign", undefined, `link #${l.index} answers another viewer's nonce, not ours: a session replayed`);
    if ("0x" + bytesToHex(l.camera) !== this.camera) throw this.fail("foreign", undefined, `link #${l.index} forwards camera ${checksum(l.camera)}, not ${checksum(hexBytes(this.camera))}`);
    if (this.started && !equalBytes(l.session, this.session)) throw this.fail("foreign", undefined, `link #${l.index} is of another session: replayed from another session`);
    if (this.started && l.epoch !== this.epoch) throw this.fail("foreign", undefined, `link #${l.index} names epoch ${l.epoch}, the session is in epoch ${this.epoch}`);
    if (l.index < this.next) throw this.fail("replayed", undefined, `link #${l.index} delivered again (#${this.next} expected)`);
    if (l.index > this.next) throw this.fail("missing", undefined, `link #${l.index} arrived where #${this.next} was expected: ${l.index - this.next} segment(s) dropped, or delivered out of order`);
    if (!equalBytes(l.prev, this.prev)) throw this.fail("substituted", undefined, `link #${l.index} does not follow the previous link (prev ${short(l.prev)}, expected ${short(this.prev)})`);
    if (l.kind !== want) throw this.fail("malformed", undefined, `link #${l.index} is a ${l.kind} link where a ${want} link was expected`);
    return l;
  }

  private accept(l: Link): void {
    if (!this.started) {
      this.started = true;
      this.session = l.session;
      this.epoch = l.epoch;
    }
    this.next = l.index + 1n;
    this.prev = l.hash;
  }

  /** segment checks one delivered segment: its link (signed by the hub,
   * next in this session), its record (signed by the camera, the one the
   * link names, of the asked stream, after the previous delivered record in
   * its chain) and its bytes (the record's size and SHA-256). */
  segment(rawLink: Uint8Array, rawRecord: Uint8Array, data: Uint8Array): Checked {
    return this.record(rawLink, rawRecord, data, false);
  }

  /** tail checks the record that closes a segment whose parts came first:
   * as segment, and the record must seal the parts — their camera, epoch,
   * stream, seq and prev — with its size and SHA-256 those of the parts'
   * bytes followed by rest. */
  tail(rawLink: Uint8Array, rawRecord: Uint8Array, rest: Uint8Array): Checked {
    return this.record(rawLink, rawRecord, rest, true);
  }

  private record(rawLink: Uint8Array, rawRecord: Uint8Array, data: Uint8Array, tail: boolean): Checked {
    const l = this.checkLink(rawLink, "segment");
    let r: Record;
    try {
      r = parseRecord(rawRecord);
    } catch (e) {
      throw this.fail("malformed", undefined, `record of link #${l.index}: ${(e as Error).message}`);
    }
    const signer = this.signer(r.hash, r.sig, this.camera);
    if (signer !== "0x" + bytesToHex(r.camera)) throw this.fail("forged", r.seq, `record ${r.seq} is not signed by the camera it names`);
    if (!equalBytes(r.hash, l.record)) throw this.fail("substituted", r.seq, `record ${short(r.hash)} is not the record ${short(l.record)} the hub's link #${l.index} names`);
    if ("0x" + bytesToHex(r.camera) !== this.camera) throw this.fail("foreign", r.seq, `record of camera ${checksum(r.camera)}, not ${checksum(hexBytes(this.camera))}`);
    if (r.epoch !== l.epoch) throw this.fail("foreign", r.seq, `record of epoch ${r.epoch} in a session of epoch ${l.epoch}`);
    if (r.stream !== this.stream) throw this.fail("wrong-stream", r.seq, `a ${r.stream}-stream record in a ${this.stream}-stream session`);
    let skipped = 0n;
    if (this.last) {
      if (r.seq === this.last.seq) throw this.fail("replayed", r.seq, `record #${r.seq} delivered again`);
      if (r.seq < this.last.seq) throw this.fail("record-chain", r.seq, `record #${r.seq} after record #${this.last.seq}: out of order`);
      if (r.seq === this.last.seq + 1n && !equalBytes(r.prev, this.last.hash))
        throw this.fail("record-chain", r.seq, `record #${r.seq} does not follow record #${this.last.seq}: the camera's chain forks`);
      skipped = r.seq - this.last.seq - 1n;
    }
    const parts = this.openCount;
    if (!tail && this.open) throw this.fail("part-chain", r.seq, `record #${r.seq} arrived whole while ${this.openCount} part(s) of record #${this.open.seq} await their record`);
    if (tail && !this.open) throw this.fail("part-chain", r.seq, `record #${r.seq} closes parts that never came`);
    if (tail) {
      const last = this.open!;
      try {
        verifySealed(last, r);
      } catch (e) {
        throw this.fail("part-chain", r.seq, `record #${r.seq} does not seal the parts before it: ${(e as Error).message}`);
      }
      // The running hash is consumed: on a mismatch the session is broken for good anyway.
      const size = partEnd(last) + BigInt(data.length);
      if (size !== r.size) throw this.fail("altered", r.seq, `segment ${r.seq}: size ${size} (parts ${partEnd(last)}, rest ${data.length}), the record says ${r.size}`);
      const h = this.openHash!.update(data).digest();
      if (!equalBytes(h, r.segment)) throw this.fail("altered", r.seq, `segment ${r.seq}: the SHA-256 of its parts and rest is not the record's`);
    } else {
      const bad = segmentMismatch(r, data);
      if (bad) throw this.fail("altered", r.seq, `segment ${r.seq}: ${bad}`);
    }
    this.accept(l);
    this.last = { seq: r.seq, hash: r.hash };
    this.open = null;
    this.openHash = null;
    this.openCount = 0;
    return { kind: tail ? "tail" : "segment", link: l, record: r, skipped, data, parts: tail ? parts : 0 };
  }

  /** part checks one delivered part of the open segment: its link (signed
   * by the hub, next in this session, naming the statement), its statement
   * (signed by the camera, of the asked stream, following the previous
   * part of its segment or, for part 0, the previous delivered record) and
   * its bytes. Parts go only to sessions that asked for them (§15.5). */
  part(rawLink: Uint8Array, rawStatement: Uint8Array, data: Uint8Array): CheckedPart {
    const l = this.checkLink(rawLink, "part");
    let p: Part;
    try {
      p = parsePart(rawStatement);
    } catch (e) {
      throw this.fail("malformed", undefined, `part statement of link #${l.index}: ${(e as Error).message}`);
    }
    try {
      verifyPart(p);
    } catch (e) {
      throw this.fail("forged", p.seq, (e as Error).message);
    }
    if (!equalBytes(p.hash, l.record)) throw this.fail("substituted", p.seq, `part statement ${short(p.hash)} is not the part ${short(l.record)} the hub's link #${l.index} names`);
    if ("0x" + bytesToHex(p.camera) !== this.camera) throw this.fail("foreign", p.seq, `part of camera ${checksum(p.camera)}, not ${checksum(hexBytes(this.camera))}`);
    if (p.epoch !== l.epoch) throw this.fail("foreign", p.seq, `part of epoch ${p.epoch} in a session of epoch ${l.epoch}`);
    if (p.stream !== this.stream) throw this.fail("wrong-stream", p.seq, `a ${p.stream}-stream part in a ${this.stream}-stream session`);
    if (this.open) {
      try {
        verifyPartNext(hexBytes(this.camera), l.epoch, this.stream, null, this.open, p);
      } catch (e) {
        throw this.fail("part-chain", p.seq, (e as Error).message);
      }
    } else {
      if (p.index !== 0) throw this.fail("part-chain", p.seq, `part ${p.index} of record #${p.seq} without the parts before it`);
      if (this.last && p.seq <= this.last.seq) throw this.fail("replayed", p.seq, `a part of record #${p.seq}, delivered already`);
      if (this.last && p.seq === this.last.seq + 1n && !equalBytes(p.prev, this.last.hash))
        throw this.fail("record-chain", p.seq, `part of record #${p.seq} does not follow record #${this.last.seq}: the camera's chain forks`);
    }
    try {
      verifyPartData(p, data);
    } catch (e) {
      throw this.fail("altered", p.seq, (e as Error).message);
    }
    this.accept(l);
    if (!this.open) {
      this.openHash = sha256.create();
      this.openCount = 0;
    }
    this.openHash!.update(data);
    this.open = p;
    this.openCount++;
    return { kind: "part", link: l, part: p, data };
  }

  /** end checks the hub's signed end of the session. */
  end(rawLink: Uint8Array): void {
    const l = this.checkLink(rawLink, "end");
    if (this.open) throw this.fail("part-chain", this.open.seq, `the session ended with ${this.openCount} part(s) of record #${this.open.seq} not sealed by their record`);
    this.accept(l);
    this.ended = true;
  }

  /** frame checks one binary playback message: a segment or a tail comes
   * back as Checked, a part as CheckedPart, the end as null. */
  frame(b: Uint8Array): Checked | CheckedPart | null {
    if (this.broken) throw this.broken;
    let f: Frame;
    try {
      f = decodeFrame(b);
    } catch (e) {
      throw this.fail("malformed", undefined, (e as Error).message);
    }
    switch (f.type) {
      case "end":
        this.end(f.link);
        return null;
      case "part":
        return this.part(f.link, f.statement, f.data);
      case "tail":
        return this.tail(f.link, f.record, f.data);
      case "segment":
        return this.segment(f.link, f.record, f.data);
    }
  }

  /** finish is called when the stream closed: a session that was to end without its signed end was cut short. */
  finish(wantEnd: boolean): void {
    if (this.broken) throw this.broken;
    if (wantEnd && !this.ended) throw this.fail("truncated", undefined, `the stream closed after ${this.next} link(s) without the hub's signed end: segments cut off`);
  }
}

const hexBytes = (addr: string): Uint8Array => fromHex(addr, 20);
