// viewingkey.ts: the viewing key of SPEC §17.1, made in the page from the
// browser wallet exactly as camchain's CLI makes it from the 24 words: the
// wallet signs the fixed viewing-key message twice (personal_sign; two
// different signatures are refused), the canonical r ‖ s goes through
// WebCrypto's HKDF-SHA256 into a 32-byte seed, and the seed is the X-Wing
// private key of @hpke/hybridkem-x-wing (loaded as it is, never through
// DeriveKeyPair, which differs from Go's). ui/test/unit.test.mjs checks it
// against internal/e2ee's vectors and an ethers wallet.
import { XWing } from "@hpke/hybridkem-x-wing";
import { concatBytes, fromHex, hex0x, utf8ToBytes } from "./bytes";
import { TYPES, type Message } from "./eip712";
import { normalize, personalDigest, recover } from "./sig";

/** X-Wing's HPKE KEM id (SPEC §17.1). */
export const KEM_XWING = 0x647an;

/** The viewing-key message for an EIP-55 address. */
export function viewingKeyMessage(address: string): string {
  return (
    "camchain viewing key\n\n" +
    "Signing this makes your camchain viewing key, which decrypts the video\n" +
    "of the cameras you own or may watch. Sign it only in camchain: whoever\n" +
    "has this signature can watch that video.\n\n" +
    `Account: ${address}\n` +
    "Version: 1"
  );
}

/** The seed of address's viewing key from its wallet's signature of the
 * message: normalised (v 0/1, high s), checked to recover to address. */
export async function seedFromSignature(address: string, signature: string): Promise<Uint8Array> {
  const sig = normalize(signature);
  if (recover(personalDigest(viewingKeyMessage(address)), sig) !== address) {
    throw new Error("not the account's signature of its viewing-key message");
  }
  const buf = (b: Uint8Array) => b as Uint8Array<ArrayBuffer>; // fresh arrays, never shared memory
  const key = await crypto.subtle.importKey("raw", buf(sig.slice(0, 64)), "HKDF", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits(
    { name: "HKDF", hash: "SHA-256", salt: buf(utf8ToBytes("camchain/v1/viewing-key-seed")), info: buf(fromHex(address, 20)) },
    key,
    256,
  );
  return new Uint8Array(bits);
}

const kem = new XWing();

/** The 1216-byte public key of a viewing-key seed. */
export async function publicKeyOf(seed: Uint8Array): Promise<Uint8Array> {
  const kp = await kem.generateKeyPairDerand(seed);
  return new Uint8Array(await kem.serializePublicKey(kp.publicKey));
}

/** The key's id: SHA-256("camchain/v1/viewing-key-id" ‖ public key), as viewkey:0x…. */
export async function keyID(pub: Uint8Array): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", concatBytes(utf8ToBytes("camchain/v1/viewing-key-id"), pub) as Uint8Array<ArrayBuffer>);
  return "viewkey:" + hex0x(new Uint8Array(d));
}

export interface ViewingKey {
  account: string;
  seed: Uint8Array;
  publicKey: Uint8Array;
  id: string;
}

/** Makes the viewing key of address with sign (the wallet's personal_sign):
 * two signatures of the message, which must be the same. */
export async function deriveViewingKey(address: string, sign: (text: string) => Promise<string>): Promise<ViewingKey> {
  const msg = viewingKeyMessage(address);
  const a = await sign(msg);
  const b = await sign(msg);
  if (hex0x(normalize(a)) !== hex0x(normalize(b))) {
    throw new Error(
      "this wallet does not sign deterministically (it gave two different signatures of the same viewing-key message), " +
        "so it cannot make a camchain viewing key: use a wallet that signs by RFC 6979 (MetaMask, Ledger, Trezor, ethers)",
    );
  }
  const seed = await seedFromSignature(address, a);
  const publicKey = await publicKeyOf(seed);
  return { account: address, seed, publicKey, id: await keyID(publicKey) };
}

/** The ViewingKey transaction's message registering vk (SPEC §2.2). */
export function viewingKeyMsg(vk: ViewingKey, nonce: bigint, expiry: bigint): Message {
  const m: Message = { account: vk.account, kem: KEM_XWING, publicKey: vk.publicKey, nonce, expiry };
  for (const f of TYPES.ViewingKey) if (!(f.name in m)) throw new Error(`ViewingKey.${f.name} missing`);
  return m;
}
