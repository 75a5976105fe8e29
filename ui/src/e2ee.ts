// e2ee.ts: the page's side of end-to-end encryption (SPEC §17.2, §17.5):
// a sealed segment or part ("CCE1") is opened on the viewer's device, after
// the viewer chain verified its sealed bytes (the records hash those). The
// sealed header names the content key's serial; that key's envelope comes
// from the hub, is checked here as the camera's (its signature against the
// camera address the page knows from the ledger, never a key the hub
// names), and its wrapped key for this account opens with the account's
// viewing key (viewingkey.ts: HPKE, X-Wing, @hpke/core). The segment key is
// HKDF of the content key; AES-256-GCM (WebCrypto) opens the ciphertext
// with the 54 header bytes as additional data. Content keys live in memory
// only, as non-extractable WebCrypto keys.
import { Aes256Gcm, CipherSuite, HkdfSha256 } from "@hpke/core";
import { XWing } from "@hpke/hybridkem-x-wing";
import { bytesToHex, checksum, concatBytes, fromHex, keccak, utf8ToBytes } from "./bytes";
import { decode, encode, type Item } from "./cbor";
import { recover } from "./sig";
import { sha256 } from "@noble/hashes/sha2.js";

export const SEALED_HEADER_SIZE = 54; // magic 4, version 1, stream 1, camera 20, epoch 8, seq 8, serial 8, index 4
export const SEALED_OVERHEAD = SEALED_HEADER_SIZE + 16; // and the GCM tag
const MAX_PARTS = 1 << 16;
const MAX_RECIPIENTS = 65;
const MAX_ENVELOPE_BYTES = 96 << 10;
const WRAPPED_SIZE = 1120 + 32 + 16;
const ENC_SIZE = 1120;

/** Why a sealed chunk did not open. no-key: this account is not among the
 * envelope's recipients (or its wrapped key is not for this viewing key);
 * envelope: the hub's envelope is malformed or not signed by the camera;
 * open: the ciphertext does not open (AES-GCM) or its header is not the
 * segment's; wallet: the viewing key could not be made. */
export class DecryptError extends Error {
  constructor(
    readonly reason: "no-key" | "envelope" | "open" | "wallet",
    message: string,
  ) {
    super(message);
  }
}

export interface SealedHeader {
  stream: number;
  camera: Uint8Array;
  epoch: bigint;
  seq: bigint;
  serial: bigint;
  index: number;
}

const be64 = (n: bigint): Uint8Array => {
  const o = new Uint8Array(8);
  for (let i = 7; i >= 0; i--) {
    o[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  return o;
};
const u64 = (b: Uint8Array, o: number): bigint => {
  let n = 0n;
  for (let i = 0; i < 8; i++) n = (n << 8n) | BigInt(b[o + i]);
  return n;
};
const buf = (b: Uint8Array) => b as Uint8Array<ArrayBuffer>;

/** isSealed: b starts like sealed data (the magic "CCE1"). No fMP4 chunk
 * does: its first four bytes are a box size, never 0x43434531. */
export const isSealed = (b: Uint8Array): boolean => b.length >= 5 && b[0] === 0x43 && b[1] === 0x43 && b[2] === 0x45 && b[3] === 0x31;

/** parseSealedHeader reads a sealed chunk's header: the magic, version 1, a
 * stream 0 or 1, and a ciphertext with its tag after it. */
export function parseSealedHeader(b: Uint8Array): SealedHeader {
  if (b.length < SEALED_OVERHEAD || !isSealed(b)) throw new DecryptError("open", `not sealed data: ${b.length} bytes`);
  if (b[4] !== 1) throw new DecryptError("open", `sealed data of version ${b[4]}`);
  if (b[5] > 1) throw new DecryptError("open", `sealed data of stream ${b[5]}`);
  return { stream: b[5], camera: b.slice(6, 26), epoch: u64(b, 26), seq: u64(b, 34), serial: u64(b, 42), index: ((b[50] << 24) >>> 0) + (b[51] << 16) + (b[52] << 8) + b[53] };
}

function encodeHeader(h: SealedHeader): Uint8Array {
  const idx = new Uint8Array(4);
  new DataView(idx.buffer).setUint32(0, h.index);
  return concatBytes(utf8ToBytes("CCE1"), Uint8Array.of(1, h.stream), h.camera, be64(h.epoch), be64(h.seq), be64(h.serial), idx);
}

export interface Envelope {
  camera: Uint8Array;
  epoch: bigint;
  serial: bigint;
  recipients: { account: string; keyID: Uint8Array; wrapped: Uint8Array }[];
}

/** decodeEnvelope reads a key envelope's wire bytes as internal/e2ee's
 * DecodeEnvelope does: canonical CBOR [1, camera, epoch, serial,
 * recipients, signature], 1 to 65 recipients in ascending account order,
 * each wrapped key 1168 bytes, and the signature the camera's (canonical
 * r ‖ s ‖ v) over SHA-256("camchain/v1/key-envelope" ‖ CBOR of the first
 * five). camera is the address the page knows from the ledger. */
export function decodeEnvelope(b: Uint8Array, camera: string): Envelope {
  const bad = (why: string) => new DecryptError("envelope", `malformed key envelope: ${why}`);
  if (b.length > MAX_ENVELOPE_BYTES) throw bad(`${b.length} bytes, limit ${MAX_ENVELOPE_BYTES}`);
  let v: Item;
  try {
    v = decode(b, MAX_RECIPIENTS);
  } catch (e) {
    throw bad((e as Error).message);
  }
  const isBytes = (x: Item, n?: number): x is Uint8Array => x instanceof Uint8Array && (n === undefined || x.length === n);
  if (!Array.isArray(v) || v.length !== 6) throw bad("not a 6-item array");
  const [version, cam, epoch, serial, recips, sig] = v;
  if (version !== 1n) throw bad(`version ${String(version)}`);
  if (!isBytes(cam, 20) || typeof epoch !== "bigint" || typeof serial !== "bigint" || !Array.isArray(recips) || !isBytes(sig, 65)) throw bad("field types");
  if (recips.length < 1 || recips.length > MAX_RECIPIENTS) throw bad(`${recips.length} recipients`);
  const recipients: Envelope["recipients"] = [];
  let prev = "";
  for (const r of recips) {
    if (!Array.isArray(r) || r.length !== 3 || !isBytes(r[0], 20) || !isBytes(r[1], 32) || !isBytes(r[2])) throw bad("a recipient is not [account, keyID, wrapped]");
    if (r[2].length !== WRAPPED_SIZE) throw bad(`a wrapped key of ${r[2].length} bytes, want ${WRAPPED_SIZE}`);
    const acct = bytesToHex(r[0]);
    if (acct <= prev) throw bad("recipients not in ascending order");
    prev = acct;
    recipients.push({ account: checksum(r[0]), keyID: r[1], wrapped: r[2] });
  }
  let canonical = false;
  try {
    canonical = bytesToHex(encode(v)) === bytesToHex(b);
  } catch {
    /* not canonical */
  }
  if (!canonical) throw bad("not in canonical form");
  const want = fromHex(camera, 20);
  // The camera's signature: canonical (v 27/28, low s), recovering to the ledger's camera address.
  const signer = canonicalSigner(sha256(concatBytes(utf8ToBytes("camchain/v1/key-envelope"), encode([version, cam, epoch, serial, recips]))), sig as Uint8Array);
  if (signer.toLowerCase() !== "0x" + bytesToHex(want))
    throw new DecryptError("envelope", `the key envelope (content key ${serial}) is not signed by the camera ${checksum(want)}`);
  if (bytesToHex(cam) !== bytesToHex(want)) throw new DecryptError("envelope", `the key envelope is of camera ${checksum(cam)}, not ${checksum(want)}`);
  return { camera: cam, epoch, serial, recipients };
}

/** canonicalSigner: the address that made sig over digest, or "" when sig
 * is not canonical (v 27/28, low s) or recovers to nothing. */
function canonicalSigner(digest: Uint8Array, s: Uint8Array): string {
  let lowS = true;
  for (let i = 32, half = HALF_N; i < 64; i++) {
    if (s[i] !== half[i - 32]) {
      lowS = s[i] < half[i - 32];
      break;
    }
  }
  if (!((s[64] === 27 || s[64] === 28) && lowS)) return "";
  try {
    return recover(digest, s);
  } catch {
    return "";
  }
}

// n/2 of secp256k1, big-endian: a canonical s is at most this.
const HALF_N = fromHex("0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0", 32);

const suite = new CipherSuite({ kem: new XWing(), kdf: new HkdfSha256(), aead: new Aes256Gcm() });

/** A viewing key's private half, loaded from its seed (SPEC §17.1 step 5). */
export type ViewingPrivateKey = { account: string; key: CryptoKey };

export async function loadViewingKey(account: string, seed: Uint8Array): Promise<ViewingPrivateKey> {
  const kp = await new XWing().generateKeyPairDerand(seed);
  return { account, key: kp.privateKey };
}

/** openContentKey opens e's wrapped key for vk's account (HPKE base mode,
 * info "camchain/v1/content-key" ‖ camera ‖ epoch ‖ serial ‖ account) into a
 * non-extractable HKDF key: the content key, never leaving WebCrypto. */
export async function openContentKey(e: Envelope, vk: ViewingPrivateKey): Promise<CryptoKey> {
  const mine = e.recipients.find((r) => r.account.toLowerCase() === vk.account.toLowerCase());
  if (!mine) throw new DecryptError("no-key", `cannot decrypt: this account has no key for this video (content key ${e.serial} is wrapped to ${e.recipients.length} other account(s))`);
  const account = fromHex(vk.account, 20);
  const info = concatBytes(utf8ToBytes("camchain/v1/content-key"), e.camera, be64(e.epoch), be64(e.serial), account);
  let ck: Uint8Array;
  try {
    ck = new Uint8Array(await suite.open({ recipientKey: vk.key, enc: buf(mine.wrapped.slice(0, ENC_SIZE)).buffer, info: buf(info).buffer }, buf(mine.wrapped.slice(ENC_SIZE)).buffer));
  } catch {
    throw new DecryptError("no-key", `cannot decrypt: this account has no key for this video (its wrapped content key ${e.serial} does not open with this account's viewing key)`);
  }
  try {
    if (ck.length !== 32) throw new DecryptError("envelope", `a content key of ${ck.length} bytes`);
    return await crypto.subtle.importKey("raw", buf(ck), "HKDF", false, ["deriveBits"]);
  } finally {
    ck.fill(0);
  }
}

/** segmentKey: HKDF-SHA256(content key, salt "camchain/v1/segment-key",
 * info camera ‖ epoch ‖ stream ‖ seq ‖ serial) as an AES-256-GCM key. */
export async function segmentKey(contentKey: CryptoKey, h: SealedHeader): Promise<CryptoKey> {
  const info = concatBytes(h.camera, be64(h.epoch), Uint8Array.of(h.stream), be64(h.seq), be64(h.serial));
  const bits = new Uint8Array(await crypto.subtle.deriveBits({ name: "HKDF", hash: "SHA-256", salt: buf(utf8ToBytes("camchain/v1/segment-key")), info: buf(info) }, contentKey, 256));
  try {
    return await crypto.subtle.importKey("raw", bits, "AES-GCM", false, ["decrypt"]);
  } finally {
    bits.fill(0);
  }
}

/** openChunk opens one sealed chunk under its segment key; its header must
 * name want's segment and index. */
export async function openChunk(key: CryptoKey, sealed: Uint8Array, want: SealedHeader): Promise<Uint8Array> {
  const h = parseSealedHeader(sealed);
  if (bytesToHex(encodeHeader(h)) !== bytesToHex(encodeHeader(want)))
    throw new DecryptError("open", `sealed chunk of seq ${h.seq} index ${h.index} (key ${h.serial}) where seq ${want.seq} index ${want.index} was expected`);
  const iv = concatBytes(new Uint8Array(4), be64(BigInt(h.index)));
  try {
    return new Uint8Array(await crypto.subtle.decrypt({ name: "AES-GCM", iv: buf(iv), additionalData: buf(sealed.slice(0, SEALED_HEADER_SIZE)) }, key, buf(sealed.subarray(SEALED_HEADER_SIZE))));
  } catch {
    throw new DecryptError("open", `segment ${h.seq}${h.index ? ` part ${h.index - 1}` : ""} does not open (AES-GCM): not sealed under its content key`);
  }
}

/** splitSegment cuts a whole sealed segment into its chunks as
 * OpenSegment does: one chunk of index 0, or chunks of index 1, 2, …, n,
 * each ending where the next one's header (same segment, next index)
 * begins. */
export function splitSegment(sealed: Uint8Array): { header: SealedHeader; chunks: Uint8Array[] } {
  const h = parseSealedHeader(sealed);
  if (h.index === 0) return { header: h, chunks: [sealed] };
  if (h.index !== 1) throw new DecryptError("open", `a segment whose first part has index ${h.index}`);
  const chunks: Uint8Array[] = [];
  let rest = sealed;
  for (let i = 1; rest.length > 0; i++) {
    if (i > MAX_PARTS) throw new DecryptError("open", `more than ${MAX_PARTS} parts`);
    const next = encodeHeader({ ...h, index: i + 1 });
    let n = rest.length;
    const j = indexOf(rest, next, Math.min(SEALED_OVERHEAD, rest.length));
    if (j >= 0) n = j;
    const c = rest.subarray(0, n);
    if (parseSealedHeader(c).index !== i) throw new DecryptError("open", `part ${i - 1} has index ${parseSealedHeader(c).index}`);
    chunks.push(c);
    rest = rest.subarray(n);
  }
  return { header: h, chunks };
}

function indexOf(hay: Uint8Array, needle: Uint8Array, from: number): number {
  const first = needle[0];
  for (let i = hay.indexOf(first, from); i >= 0 && i + needle.length <= hay.length; i = hay.indexOf(first, i + 1)) {
    let k = 1;
    while (k < needle.length && hay[i + k] === needle[k]) k++;
    if (k === needle.length) return i;
  }
  return -1;
}

// ---------- history envelopes (SPEC §17.6) ----------
const MAX_HISTORY_ITEMS = 2048;
const MAX_HISTORY_BYTES = 144 << 10;

export interface HistoryItem {
  kind: bigint; // 0 a content key, 1 a segment key
  serial: bigint;
  stream: bigint;
  seq: bigint;
}

export interface History {
  camera: Uint8Array;
  epoch: bigint;
  recipient: string;
  historyFrom: bigint;
  grantedAt: bigint;
  items: HistoryItem[];
  sealed: Uint8Array;
  head: Item[]; // the first 8 fields, which the sealed keys' HPKE info binds
}

/** decodeHistory reads a history envelope's wire bytes as internal/e2ee's
 * DecodeHistory does: canonical CBOR [1, camera, epoch, owner, recipient,
 * keyID, [historyFrom, grantedAt], items, sealed, signature], 1 to 2048
 * items ascending and distinct, the sealed keys of their size, and the
 * signature (EIP-191 of SHA-256("camchain/v1/history-envelope" ‖ CBOR of
 * the first nine)) the owner's — owner being the camera's owner as the
 * ledger has it, never one the envelope names. */
export function decodeHistory(b: Uint8Array, camera: string, owner: string): History {
  const bad = (why: string) => new DecryptError("envelope", `malformed history envelope: ${why}`);
  if (b.length > MAX_HISTORY_BYTES) throw bad(`${b.length} bytes, limit ${MAX_HISTORY_BYTES}`);
  let v: Item;
  try {
    v = decode(b, MAX_HISTORY_ITEMS);
  } catch (e) {
    throw bad((e as Error).message);
  }
  const isBytes = (x: Item, n?: number): x is Uint8Array => x instanceof Uint8Array && (n === undefined || x.length === n);
  const isU = (x: Item): x is bigint => typeof x === "bigint";
  if (!Array.isArray(v) || v.length !== 10) throw bad("not a 10-item array");
  const [version, cam, epoch, own, recipient, keyID, grant, items, sealed, sig] = v;
  if (version !== 1n) throw bad(`version ${String(version)}`);
  if (!isBytes(cam, 20) || !isU(epoch) || !isBytes(own, 20) || !isBytes(recipient, 20) || !isBytes(keyID, 32) || !Array.isArray(grant) || !Array.isArray(items) || !isBytes(sealed) || !isBytes(sig, 65))
    throw bad("field types");
  if (grant.length !== 2 || !isU(grant[0]) || !isU(grant[1])) throw bad("grant is not [historyFrom, grantedAt]");
  if (items.length < 1 || items.length > MAX_HISTORY_ITEMS) throw bad(`${items.length} items`);
  const out: HistoryItem[] = [];
  for (const it of items) {
    if (!Array.isArray(it) || it.length !== 4 || !it.every(isU)) throw bad("an item is not [kind, serial, stream, seq]");
    const [kind, serial, stream, seq] = it as bigint[];
    if (kind > 1n) throw bad(`an item of kind ${kind}`);
    if (kind === 0n && (stream !== 0n || seq !== 0n)) throw bad("a content key naming a segment");
    if (stream > 1n) throw bad(`an item of stream ${stream}`);
    const p = out[out.length - 1];
    if (p) {
      const c = p.serial !== serial ? (p.serial < serial ? -1 : 1) : p.kind !== kind ? (p.kind < kind ? -1 : 1) : p.stream !== stream ? (p.stream < stream ? -1 : 1) : p.seq < seq ? -1 : p.seq > seq ? 1 : 0;
      if (c >= 0) throw bad("items not in ascending order");
    }
    out.push({ kind, serial, stream, seq });
  }
  if (sealed.length !== ENC_SIZE + 32 * out.length + 16) throw bad(`${sealed.length} sealed bytes for ${out.length} keys`);
  let canonical = false;
  try {
    canonical = bytesToHex(encode(v)) === bytesToHex(b);
  } catch {
    /* not canonical */
  }
  if (!canonical) throw bad("not in canonical form");
  const digest = sha256(concatBytes(utf8ToBytes("camchain/v1/history-envelope"), encode(v.slice(0, 9))));
  const signer = canonicalSigner(keccak(concatBytes(utf8ToBytes("\x19Ethereum Signed Message:\n32"), digest)), sig);
  const want = fromHex(owner, 20);
  if (signer.toLowerCase() !== "0x" + bytesToHex(want) || bytesToHex(own) !== bytesToHex(want))
    throw new DecryptError("envelope", `the history envelope is not signed by the camera's owner ${checksum(want)}`);
  if (bytesToHex(cam) !== bytesToHex(fromHex(camera, 20))) throw new DecryptError("envelope", `the history envelope is of camera ${checksum(cam)}, not ${camera}`);
  return { camera: cam, epoch, recipient: checksum(recipient), historyFrom: grant[0], grantedAt: grant[1], items: out, sealed, head: v.slice(0, 8) };
}

/** The keys a history envelope gives: content keys (HKDF) by serial,
 * segment keys (AES-GCM) by "serial/stream/seq". Non-extractable. */
export interface HistoryKeys {
  content: Map<string, CryptoKey>;
  segments: Map<string, CryptoKey>;
}

/** openHistory opens h's sealed keys with vk (HPKE base mode, info
 * "camchain/v1/history-keys" ‖ SHA-256 of that label ‖ CBOR of the first
 * eight fields). Another account's envelope is "no-key". */
export async function openHistory(h: History, vk: ViewingPrivateKey): Promise<HistoryKeys> {
  if (h.recipient.toLowerCase() !== vk.account.toLowerCase()) throw new DecryptError("no-key", `a history envelope for ${h.recipient}, not this account`);
  const label = utf8ToBytes("camchain/v1/history-keys");
  const info = concatBytes(label, sha256(concatBytes(label, encode(h.head))));
  let plain: Uint8Array;
  try {
    plain = new Uint8Array(await suite.open({ recipientKey: vk.key, enc: buf(h.sealed.slice(0, ENC_SIZE)).buffer, info: buf(info).buffer }, buf(h.sealed.slice(ENC_SIZE)).buffer));
  } catch {
    throw new DecryptError("no-key", "a history envelope whose keys do not open with this account's viewing key");
  }
  try {
    if (plain.length !== 32 * h.items.length) throw new DecryptError("envelope", `${plain.length} bytes of keys for ${h.items.length} items`);
    const out: HistoryKeys = { content: new Map(), segments: new Map() };
    for (let i = 0; i < h.items.length; i++) {
      const it = h.items[i];
      const raw = plain.slice(32 * i, 32 * i + 32);
      if (it.kind === 0n) out.content.set(String(it.serial), await crypto.subtle.importKey("raw", raw, "HKDF", false, ["deriveBits"]));
      else out.segments.set(`${it.serial}/${it.stream}/${it.seq}`, await crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["decrypt"]));
      raw.fill(0);
    }
    return out;
  } finally {
    plain.fill(0);
  }
}

/** Keyring opens sealed chunks of the cameras this account may watch: it
 * fetches each envelope once (per camera, epoch, serial), checks it as the
 * camera's and opens its content key with the viewing key, which it asks
 * for once (viewingKey: the session's derivation, memoised by the caller). */
export class Keyring {
  private readonly keys = new Map<string, Promise<CryptoKey>>();
  private vk: Promise<ViewingPrivateKey> | null = null; // loaded once (X-Wing key expansion), again only after a failure
  constructor(
    readonly account: string,
    private readonly viewingKey: () => Promise<ViewingPrivateKey>,
    private readonly fetchEnvelope: (camera: string, epoch: bigint, serial: bigint) => Promise<Uint8Array>,
    // The owner's history envelopes for this account (SPEC §17.6), and the
    // camera's owner as the ledger has it; asked for once per camera and
    // epoch, when a content key is not wrapped to this account.
    private readonly fetchHistory?: (camera: string, epoch: bigint) => Promise<{ owner: string; envelopes: Uint8Array[] }>,
  ) {}

  private readonly histories = new Map<string, Promise<HistoryKeys>>();

  private history(camera: string, epoch: bigint): Promise<HistoryKeys> {
    const id = `${camera.toLowerCase()}/${epoch}`;
    let p = this.histories.get(id);
    if (!p) {
      p = (async () => {
        const vk = await (this.vk ??= this.viewingKey());
        const { owner, envelopes } = await this.fetchHistory!(camera, epoch);
        const all: HistoryKeys = { content: new Map(), segments: new Map() };
        for (const b of envelopes) {
          const h = decodeHistory(b, camera, owner); // the owner's signature, not the hub's word
          if (h.epoch !== epoch || h.recipient.toLowerCase() !== this.account.toLowerCase()) continue;
          const k = await openHistory(h, vk);
          k.content.forEach((v, key) => all.content.set(key, v));
          k.segments.forEach((v, key) => all.segments.set(key, v));
        }
        return all;
      })();
      this.histories.set(id, p);
      p.catch(() => this.histories.delete(id));
    }
    return p;
  }

  /** keyFor: the segment key of want — from its content key's envelope,
   * else from the owner's history envelopes (the content key of its
   * serial, or the key of exactly this segment). */
  private async keyFor(camera: string, epoch: bigint, want: SealedHeader): Promise<CryptoKey> {
    try {
      return await segmentKey(await this.contentKey(camera, epoch, want.serial), want);
    } catch (e) {
      if (!(e instanceof DecryptError && e.reason === "no-key") || !this.fetchHistory) throw e;
      const h = await this.history(camera, epoch);
      const ck = h.content.get(String(want.serial));
      if (ck) return segmentKey(ck, want);
      const sk = h.segments.get(`${want.serial}/${want.stream}/${want.seq}`);
      if (sk) return sk;
      throw new DecryptError("no-key", `${e.message}; nor did the owner re-wrap it to this account (recorded before its grant's history-from)`);
    }
  }

  private contentKey(camera: string, epoch: bigint, serial: bigint): Promise<CryptoKey> {
    const id = `${camera.toLowerCase()}/${epoch}/${serial}`;
    let p = this.keys.get(id);
    if (!p) {
      p = (async () => {
        let vk: ViewingPrivateKey;
        try {
          const p = (this.vk ??= this.viewingKey());
          p.catch(() => {
            if (this.vk === p) this.vk = null;
          });
          vk = await p;
        } catch (e) {
          throw e instanceof DecryptError ? e : new DecryptError("wallet", `cannot decrypt: the viewing key could not be made: ${(e as Error).message}`);
        }
        const env = decodeEnvelope(await this.fetchEnvelope(camera, epoch, serial), camera);
        if (env.epoch !== epoch || env.serial !== serial) throw new DecryptError("envelope", `the hub answered content key ${env.serial} of epoch ${env.epoch} for ${serial} of epoch ${epoch}`);
        return openContentKey(env, vk);
      })();
      this.keys.set(id, p);
      p.catch(() => this.keys.delete(id)); // a later attempt asks again
    }
    return p;
  }

  /** open decrypts a sealed chunk of camera's segment seq on stream: a
   * whole segment (index null: one chunk of index 0, or its parts 1…n), or
   * the chunk of the given index (i+1 for part i, parts+1 for a tail's rest). */
  async open(camera: string, epoch: bigint, stream: number, seq: bigint, sealed: Uint8Array, index: number | null): Promise<Uint8Array> {
    const { header, chunks } = index === null ? splitSegment(sealed) : { header: parseSealedHeader(sealed), chunks: [sealed] };
    const want: SealedHeader = { stream, camera: fromHex(camera, 20), epoch, seq, serial: header.serial, index: index ?? header.index };
    if (bytesToHex(header.camera) !== bytesToHex(want.camera) || header.epoch !== epoch || header.stream !== stream || header.seq !== seq)
      throw new DecryptError("open", `sealed data of camera ${checksum(header.camera)} epoch ${header.epoch} stream ${header.stream} seq ${header.seq}, not of the record it came with (seq ${seq})`);
    const sk = await this.keyFor(camera, epoch, want);
    const out: Uint8Array[] = [];
    for (let i = 0; i < chunks.length; i++) out.push(await openChunk(sk, chunks[i], { ...want, index: want.index + i }));
    return out.length === 1 ? out[0] : concatBytes(...out);
  }
}
