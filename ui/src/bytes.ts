// bytes.ts: hex, UTF-8 and address helpers shared by the modules.
import { keccak_256 } from "@noble/hashes/sha3.js";
import { bytesToHex, concatBytes, hexToBytes, utf8ToBytes } from "@noble/hashes/utils.js";

export { bytesToHex, concatBytes, hexToBytes, utf8ToBytes };

export const keccak = (b: Uint8Array): Uint8Array => keccak_256(b);

/** 0x-prefixed lower-case hex. */
export const hex0x = (b: Uint8Array): string => "0x" + bytesToHex(b);

/** Decodes 0x-prefixed (or bare) hex of exactly n bytes when n is given. */
export function fromHex(s: string, n?: number): Uint8Array {
  const h = s.startsWith("0x") || s.startsWith("0X") ? s.slice(2) : s;
  if (h.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(h)) throw new Error("not hex: " + s.slice(0, 20));
  const b = hexToBytes(h.toLowerCase());
  if (n !== undefined && b.length !== n) throw new Error(`want ${n} bytes, got ${b.length}`);
  return b;
}

/** EIP-55 checksummed form of a 20-byte address. */
export function checksum(addr: Uint8Array): string {
  const lower = bytesToHex(addr);
  const h = bytesToHex(keccak(utf8ToBytes(lower)));
  let out = "0x";
  for (let i = 0; i < lower.length; i++) out += parseInt(h[i], 16) >= 8 ? lower[i].toUpperCase() : lower[i];
  return out;
}

/** Parses an Ethereum address (any case) and returns it EIP-55 checksummed;
 * a mixed-case address with a wrong checksum is refused. */
export function parseAddress(s: string): string {
  const t = s.trim();
  if (!/^0x[0-9a-fA-F]{40}$/.test(t)) throw new Error("an address is 0x followed by 40 hex digits");
  const c = checksum(fromHex(t, 20));
  const body = t.slice(2);
  if (body !== body.toLowerCase() && body !== body.toUpperCase() && c !== t) throw new Error("the address's checksum (its mixed case) is wrong: mistyped?");
  return c;
}

export const sameAddress = (a?: string, b?: string): boolean => !!a && !!b && a.toLowerCase() === b.toLowerCase();

/** n random bytes from the browser's CSPRNG. */
export function randomBytes(n: number): Uint8Array {
  const b = new Uint8Array(n);
  crypto.getRandomValues(b);
  return b;
}

/** A random 64-bit nonce, as the ledger wants (SPEC §2.4). */
export function randomU64(): bigint {
  const b = randomBytes(8);
  return new DataView(b.buffer).getBigUint64(0);
}

export const short = (a: string, n = 6): string => (a.length > 2 * n + 2 ? a.slice(0, n + 2) + "…" + a.slice(-n) : a);
