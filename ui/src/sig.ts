// sig.ts: secp256k1 signatures as the ledger wants them (r ‖ s ‖ v, v 27
// or 28, low s: one valid encoding, SPEC §1) and recovery of the signer's
// address, so the page checks every signature it relies on itself.
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { checksum, concatBytes, fromHex, keccak, utf8ToBytes } from "./bytes";

const N = secp256k1.Point.CURVE().n;

/** Normalises a wallet's 65-byte signature: v 0/1 → 27/28, high s → low s. */
export function normalize(sigHex: string): Uint8Array {
  const b = fromHex(sigHex, 65);
  let v = b[64];
  if (v < 27) v += 27;
  if (v !== 27 && v !== 28) throw new Error("signature recovery id must be 27 or 28");
  let s = 0n;
  for (let i = 32; i < 64; i++) s = (s << 8n) | BigInt(b[i]);
  const out = b.slice();
  if (s > N / 2n) {
    s = N - s;
    for (let i = 63; i >= 32; i--) {
      out[i] = Number(s & 0xffn);
      s >>= 8n;
    }
    v = v === 27 ? 28 : 27;
  }
  out[64] = v;
  return out;
}

/** The EIP-55 address that signed the 32-byte digest, or an error. */
export function recover(digest: Uint8Array, sig: Uint8Array): string {
  if (sig.length !== 65) throw new Error("a signature is 65 bytes");
  const rec = concatBytes(Uint8Array.of(sig[64] - 27), sig.subarray(0, 64));
  const pub = secp256k1.recoverPublicKey(rec, digest, { prehash: false });
  const full = secp256k1.Point.fromBytes(pub).toBytes(false);
  return checksum(keccak(full.subarray(1)).subarray(12));
}

/** EIP-191 personal_sign digest of a text message. */
export function personalDigest(text: string): Uint8Array {
  const m = utf8ToBytes(text);
  return keccak(concatBytes(utf8ToBytes(`\x19Ethereum Signed Message:\n${m.length}`), m));
}
