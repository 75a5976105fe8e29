// hpke.mjs: camchain's viewing key (docs/SPEC.md §17.1) made the way a
// browser makes it — an ethers wallet signs the viewing-key message
// (personal_sign), WebCrypto's HKDF-SHA256 turns the signature into a
// 32-byte seed, and @hpke/hybridkem-x-wing loads that seed as the X-Wing
// private key — plus HPKE seal and open with @hpke/core, so camchain's Go
// tests can check that Go and these independent libraries agree. Nothing
// here is shared with camchain's Go code: the message text, the HKDF
// parameters and the signature's normalisation are written again from the
// SPEC.
//
// Reads one JSON request, or an array of requests, on stdin and prints the
// matching JSON response (or array). A request that fails yields
// {"error": "..."} in its place. Ops:
//
//   viewingKey {mnemonic, passphrase | privateKey}
//       -> {address, message, signature, seed, publicKey}   (all 0x hex but message)
//   fromSignature {address, signature}  -> {seed, publicKey}
//   publicKey  {seed}                   -> {publicKey}
//   seal       {publicKey, info, aad, plaintext}   -> {enc, ct}
//   open       {seed, info, aad, enc, ct}          -> {plaintext}
//   deriveKeyPair {ikm}                 -> {publicKey}  (the library's DeriveKeyPair, for contrast)
//
// HPKE: mode base, KEM X-Wing (0x647a), KDF HKDF-SHA256, AEAD AES-256-GCM.
import { HDNodeWallet, Wallet, getBytes, hexlify, verifyMessage, Signature } from "ethers";
import { Aes256Gcm, CipherSuite, HkdfSha256 } from "@hpke/core";
import { XWing } from "@hpke/hybridkem-x-wing";

const DEFAULT_PATH = "m/44'/60'/0'/0/0";
const SEED_SALT = "camchain/v1/viewing-key-seed";
const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

function wallet(req) {
  if (typeof req.privateKey === "string") return new Wallet(req.privateKey);
  return HDNodeWallet.fromPhrase(req.mnemonic, req.passphrase ?? "", DEFAULT_PATH);
}

// The viewing-key message of SPEC §17.1, for an EIP-55 address.
function viewingKeyMessage(address) {
  return (
    "camchain viewing key\n\n" +
    "Signing this makes your camchain viewing key, which decrypts the video\n" +
    "of the cameras you own or may watch. Sign it only in camchain: whoever\n" +
    "has this signature can watch that video.\n\n" +
    "Account: " + address + "\n" +
    "Version: 1"
  );
}

// seed = HKDF-SHA256(salt "camchain/v1/viewing-key-seed", IKM r ‖ low s,
// info the 20 address bytes), 32 bytes; with WebCrypto, as a page does.
async function seedFromSignature(address, signatureHex) {
  const message = viewingKeyMessage(address);
  const raw = getBytes(signatureHex);
  if (raw.length !== 65) throw new Error("a signature is 65 bytes");
  // The canonical form: v 0/1 read as 27/28, a high s replaced by n − s
  // (which flips the recovery id). ethers refuses a high s, so do it here.
  let v = raw[64] < 27 ? raw[64] + 27 : raw[64];
  let s = BigInt(hexlify(raw.slice(32, 64)));
  if (s > SECP256K1_N / 2n) {
    s = SECP256K1_N - s;
    if (v === 27 || v === 28) v ^= 27 ^ 28;
  }
  const r = hexlify(raw.slice(0, 32));
  const sHex = "0x" + s.toString(16).padStart(64, "0");
  let signer;
  try {
    signer = verifyMessage(message, Signature.from({ r, s: sHex, v }));
  } catch (e) {
    throw new Error("signature does not recover: " + (e?.message ?? e));
  }
  if (signer !== address) throw new Error("signature is not the account's signature of its viewing-key message");
  const ikm = getBytes(r + sHex.slice(2));
  const key = await crypto.subtle.importKey("raw", ikm, "HKDF", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits(
    { name: "HKDF", hash: "SHA-256", salt: new TextEncoder().encode(SEED_SALT), info: getBytes(address) },
    key, 256);
  return new Uint8Array(bits);
}

const kem = new XWing();
const suite = new CipherSuite({ kem, kdf: new HkdfSha256(), aead: new Aes256Gcm() });

async function publicKeyOf(seed) {
  const kp = await kem.generateKeyPairDerand(seed);
  return new Uint8Array(await kem.serializePublicKey(kp.publicKey));
}

const hex = (b) => hexlify(new Uint8Array(b));

const ops = {
  async viewingKey(req) {
    const w = wallet(req);
    const message = viewingKeyMessage(w.address);
    const a = await w.signMessage(message);
    const b = await w.signMessage(message);
    if (a !== b) throw new Error("the wallet gave two different signatures of the viewing-key message");
    const seed = await seedFromSignature(w.address, a);
    return { address: w.address, message, signature: a, seed: hex(seed), publicKey: hex(await publicKeyOf(seed)) };
  },
  async fromSignature(req) {
    const seed = await seedFromSignature(req.address, req.signature);
    return { seed: hex(seed), publicKey: hex(await publicKeyOf(seed)) };
  },
  async publicKey(req) {
    return { publicKey: hex(await publicKeyOf(getBytes(req.seed))) };
  },
  async seal(req) {
    const recipientPublicKey = await kem.deserializePublicKey(getBytes(req.publicKey));
    const sender = await suite.createSenderContext({ recipientPublicKey, info: getBytes(req.info ?? "0x") });
    const ct = await sender.seal(getBytes(req.plaintext), getBytes(req.aad ?? "0x"));
    return { enc: hex(sender.enc), ct: hex(ct) };
  },
  async open(req) {
    const kp = await kem.generateKeyPairDerand(getBytes(req.seed));
    const recipient = await suite.createRecipientContext({ recipientKey: kp.privateKey, enc: getBytes(req.enc), info: getBytes(req.info ?? "0x") });
    return { plaintext: hex(await recipient.open(getBytes(req.ct), getBytes(req.aad ?? "0x"))) };
  },
  async deriveKeyPair(req) {
    const kp = await kem.deriveKeyPair(getBytes(req.ikm));
    return { publicKey: hex(await kem.serializePublicKey(kp.publicKey)) };
  },
};

async function handle(req) {
  try {
    const op = ops[req.op];
    if (!op) throw new Error(`unknown op ${req.op}`);
    return await op(req);
  } catch (e) {
    return { error: String(e?.message ?? e) };
  }
}

let input = "";
for await (const chunk of process.stdin) input += chunk;
const req = JSON.parse(input);
const out = Array.isArray(req) ? await Promise.all(req.map(handle)) : await handle(req);
process.stdout.write(JSON.stringify(out));
