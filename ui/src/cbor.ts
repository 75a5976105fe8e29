// cbor.ts: the subset of CBOR (RFC 8949, core deterministic encoding) that
// camchain's transactions and pairing codes use: unsigned and negative
// integers, byte and text strings, arrays. Decoding is strict: shortest
// forms only, definite lengths, no trailing bytes, bounded sizes.

export type Item = bigint | Uint8Array | string | Item[];

const enc = new TextEncoder();

function head(major: number, n: bigint, out: number[]): void {
  const m = major << 5;
  if (n < 24n) out.push(m | Number(n));
  else if (n < 0x100n) out.push(m | 24, Number(n));
  else if (n < 0x10000n) out.push(m | 25, Number(n >> 8n), Number(n & 0xffn));
  else if (n < 0x100000000n) {
    out.push(m | 26);
    for (let s = 24n; s >= 0n; s -= 8n) out.push(Number((n >> s) & 0xffn));
  } else {
    if (n >= 1n << 64n) throw new Error("integer over 64 bits");
    out.push(m | 27);
    for (let s = 56n; s >= 0n; s -= 8n) out.push(Number((n >> s) & 0xffn));
  }
}

function encodeInto(v: Item, out: number[]): void {
  if (typeof v === "bigint") {
    if (v >= 0n) head(0, v, out);
    else head(1, -1n - v, out);
  } else if (v instanceof Uint8Array) {
    head(2, BigInt(v.length), out);
    for (const b of v) out.push(b);
  } else if (typeof v === "string") {
    const b = enc.encode(v);
    head(3, BigInt(b.length), out);
    for (const x of b) out.push(x);
  } else {
    head(4, BigInt(v.length), out);
    for (const x of v) encodeInto(x, out);
  }
}

export function encode(v: Item): Uint8Array {
  const out: number[] = [];
  encodeInto(v, out);
  return Uint8Array.from(out);
}

const MAX_DEPTH = 4;
const MAX_ITEMS = 64;

/** Decodes one item that must span all of b; arrays hold at most maxItems
 * (64 unless a caller's format allows more: a key envelope's 65 recipients). */
export function decode(b: Uint8Array, maxItems = MAX_ITEMS): Item {
  let p = 0;
  const dec = new TextDecoder("utf-8", { fatal: true });
  const need = (n: number) => {
    if (p + n > b.length) throw new Error("cbor: truncated");
  };
  const arg = (info: number): bigint => {
    if (info < 24) return BigInt(info);
    const len = info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : info === 27 ? 8 : 0;
    if (len === 0) throw new Error("cbor: indefinite or reserved length");
    need(len);
    let n = 0n;
    for (let i = 0; i < len; i++) n = (n << 8n) | BigInt(b[p++]);
    const min = len === 1 ? 24n : len === 2 ? 0x100n : len === 4 ? 0x10000n : 0x100000000n;
    if (n < min) throw new Error("cbor: non-minimal integer");
    return n;
  };
  const item = (depth: number): Item => {
    if (depth > MAX_DEPTH) throw new Error("cbor: nested too deep");
    need(1);
    const ib = b[p++];
    const major = ib >> 5;
    const n = arg(ib & 31);
    switch (major) {
      case 0:
        return n;
      case 1:
        return -1n - n;
      case 2:
      case 3: {
        if (n > BigInt(b.length - p)) throw new Error("cbor: truncated");
        const s = b.slice(p, p + Number(n));
        p += Number(n);
        return major === 2 ? s : dec.decode(s);
      }
      case 4: {
        if (n > BigInt(maxItems)) throw new Error("cbor: array too long");
        const a: Item[] = [];
        for (let i = 0n; i < n; i++) a.push(item(depth + 1));
        return a;
      }
    }
    throw new Error("cbor: unsupported major type " + major);
  };
  const v = item(0);
  if (p !== b.length) throw new Error("cbor: trailing bytes");
  return v;
}
