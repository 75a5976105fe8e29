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
//   openSegment {seed, account, envelope, sealed}
//       -> {contentKey, segmentKey, plaintext}   (SPEC §17.2: the envelope's
//          wrapped key for account, opened with @hpke/core; the segment key by
//          WebCrypto HKDF; the sealed segment by WebCrypto AES-GCM; the
//          envelope's CBOR read by hand, as the page would, for this one shape)
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

// A minimal reader of the one CBOR shape of a key envelope (canonical:
// definite lengths, preferred integers): enough to find a recipient.
function cborReader(b) {
  let i = 0;
  const head = () => {
    const ib = b[i++];
    const major = ib >> 5, ai = ib & 31;
    let v;
    if (ai < 24) v = ai;
    else if (ai === 24) v = b[i++];
    else if (ai === 25) { v = (b[i] << 8) | b[i + 1]; i += 2; }
    else if (ai === 26) { v = ((b[i] << 24) >>> 0) + (b[i + 1] << 16) + (b[i + 2] << 8) + b[i + 3]; i += 4; }
    else if (ai === 27) { v = 0; for (let k = 0; k < 8; k++) v = v * 256 + b[i + k]; i += 8; }
    else throw new Error("unsupported CBOR");
    return { major, v };
  };
  const item = () => {
    const { major, v } = head();
    if (major === 0) return v;
    if (major === 2) { const out = b.slice(i, i + v); i += v; return out; }
    if (major === 4) { const out = []; for (let k = 0; k < v; k++) out.push(item()); return out; }
    throw new Error("unexpected CBOR major type " + major);
  };
  return item;
}

const be64 = (n) => { const o = new Uint8Array(8); let x = BigInt(n); for (let k = 7; k >= 0; k--) { o[k] = Number(x & 0xffn); x >>= 8n; } return o; };
const cat = (...parts) => { const n = parts.reduce((a, p) => a + p.length, 0); const o = new Uint8Array(n); let off = 0; for (const p of parts) { o.set(p, off); off += p.length; } return o; };

ops.openSegment = async (req) => {
  const [version, camera, epoch, serial, recipients] = cborReader(getBytes(req.envelope))();
  if (version !== 1) throw new Error("envelope version");
  const account = getBytes(req.account);
  const mine = recipients.find((r) => hexlify(r[0]) === hexlify(account));
  if (!mine) throw new Error("not a recipient");
  const kp = await kem.generateKeyPairDerand(getBytes(req.seed));
  const info = cat(new TextEncoder().encode("camchain/v1/content-key"), camera, be64(epoch), be64(serial), account);
  const wrapped = mine[2];
  const ck = new Uint8Array(await suite.open({ recipientKey: kp.privateKey, enc: wrapped.slice(0, 1120), info }, wrapped.slice(1120)));
  const sealed = getBytes(req.sealed);
  const hdr = sealed.slice(0, 54);
  if (new TextDecoder().decode(hdr.slice(0, 4)) !== "CCE1" || hdr[4] !== 1) throw new Error("not sealed");
  const stream = hdr[5], seq = hdr.slice(34, 42), index = hdr.slice(50, 54);
  const hk = await crypto.subtle.importKey("raw", ck, "HKDF", false, ["deriveBits"]);
  const skBits = await crypto.subtle.deriveBits({ name: "HKDF", hash: "SHA-256", salt: new TextEncoder().encode("camchain/v1/segment-key"),
    info: cat(camera, be64(epoch), Uint8Array.of(stream), seq, be64(serial)) }, hk, 256);
  const aes = await crypto.subtle.importKey("raw", skBits, "AES-GCM", false, ["decrypt"]);
  const iv = cat(new Uint8Array(8), index);
  const pt = await crypto.subtle.decrypt({ name: "AES-GCM", iv, additionalData: hdr }, aes, sealed.slice(54));
  return { contentKey: hex(ck), segmentKey: hex(skBits), plaintext: hex(pt) };
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
