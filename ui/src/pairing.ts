// pairing.ts: pairing a camera from the browser (SPEC §8, §12.3). A page
// cannot open the camera's pinned-TLS pairing port, so the hub relays the
// owner-signed imprint to the camera and hands back the camera's answer;
// the page checks the camera's co-signature and its TLS-pin signature
// itself, against the camera address in the code the user pasted, before
// it submits anything or reports success.
import { sha256 } from "@noble/hashes/sha2.js";
import { checksum, concatBytes, fromHex, hex0x, randomU64, sameAddress, utf8ToBytes } from "./bytes";
import { decode } from "./cbor";
import { digestV2, DOMAIN_V2, type Message } from "./eip712";
import { ledgerChain, signMessage, withReplay } from "./ledger";
import { HttpError, rawCall } from "./session";
import { get, post } from "./api";
import { recover } from "./sig";
import { encodeTx } from "./tx";
import type { Device, Status } from "./types";
import { viewingKeyMsg, type ViewingKey } from "./viewingkey";

export interface Code {
  text: string;
  camera: string;
  addr: string;
  pin: Uint8Array;
  epoch: bigint;
  expiry: number; // Unix seconds
}

const PREFIX = "CCPAIR1:";
const B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

function base32(s: string): Uint8Array {
  const out: number[] = [];
  let acc = 0,
    bits = 0;
  for (const ch of s) {
    const v = B32.indexOf(ch);
    if (v < 0) throw new Error(`“${ch}” is not a base32 letter (mistyped?)`);
    acc = (acc << 5) | v;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((acc >> bits) & 0xff);
    }
  }
  if (bits >= 5 || (acc & ((1 << bits) - 1)) !== 0) throw new Error("the code's last letter is wrong (mistyped?)");
  return Uint8Array.from(out);
}

/** parseCode decodes what the camera shows (SPEC §8.1), strictly. */
export function parseCode(text: string): Code {
  const s = text.trim().toUpperCase();
  if (!s.startsWith(PREFIX)) throw new Error(`a pairing code starts with ${PREFIX}`);
  const v = decode(base32(s.slice(PREFIX.length)));
  if (!Array.isArray(v) || v.length !== 6) throw new Error("not a camchain pairing code");
  const [secret, cam, addr, pin, epoch, expiry] = v;
  if (!(secret instanceof Uint8Array) || secret.length !== 20 || !(cam instanceof Uint8Array) || cam.length !== 20 ||
    typeof addr !== "string" || !addr || addr.length > 255 || !(pin instanceof Uint8Array) || pin.length !== 32 ||
    typeof epoch !== "bigint" || typeof expiry !== "bigint") throw new Error("not a camchain pairing code");
  return { text: s, camera: checksum(cam), addr, pin, epoch, expiry: Number(expiry) };
}

/** PinDigest = SHA-256("camchain/v1/camera-tls-pin" ‖ 0x00 ‖ imprint digest ‖ pin). */
export const pinDigest = (imprint: Uint8Array, pin: Uint8Array): Uint8Array =>
  sha256(concatBytes(utf8ToBytes("camchain/v1/camera-tls-pin"), Uint8Array.of(0), imprint, pin));

interface RelayAnswer {
  camera_sig: string;
  camera_tls_pin: string;
  camera_tls_pin_sig: string;
  pending_reset?: string;
}

interface PairAnswer {
  camera: string;
  owner: string;
  epoch: number;
  imprint: { hash: string; height?: number };
}

export class CoSignatureError extends Error {}

/** checkCamera verifies the relayed answer against the code: both
 * signatures must be the camera's, for this very imprint. */
export function checkCamera(chain: string, code: Code, imprint: Message, a: RelayAnswer): { camSig: Uint8Array; pin: Uint8Array; pinSig: Uint8Array } {
  const d = digestV2(chain, "Imprint", imprint);
  let camSig: Uint8Array, pin: Uint8Array, pinSig: Uint8Array;
  try {
    camSig = fromHex(a.camera_sig, 65);
    pin = fromHex(a.camera_tls_pin, 32);
    pinSig = fromHex(a.camera_tls_pin_sig, 65);
  } catch {
    throw new CoSignatureError("the hub's relay answer is malformed");
  }
  let who = "";
  try {
    who = recover(d, camSig);
  } catch {
    /* refused below */
  }
  if (!sameAddress(who, code.camera)) throw new CoSignatureError(`the camera's co-signature does not verify: it is not camera ${code.camera}'s signature of this imprint`);
  let pinWho = "";
  try {
    pinWho = recover(pinDigest(d, pin), pinSig);
  } catch {
    /* refused below */
  }
  if (!sameAddress(pinWho, code.camera)) throw new CoSignatureError("the camera's TLS key is not signed by the camera for this imprint");
  return { camSig, pin, pinSig };
}

/** What pairing does about end-to-end encryption (SPEC §8, §17.4): the
 * owner's signed policy travels with the imprint, so the camera seals
 * from its first segment (encrypt, the default) or records in the clear;
 * with it on, viewingKey makes the owner's viewing key, whose signed
 * registration travels too. */
export interface PairOptions {
  encrypt: boolean;
  viewingKey: () => Promise<ViewingKey>;
}

/** What the pairing signed besides the imprint, for the page to put on
 * the ledger once the imprint is there. */
export interface PairResult extends PairAnswer {
  encryptionTx: Uint8Array;
  viewingKeyTx?: Uint8Array;
  viewingKey?: ViewingKey;
}

export async function pair(st: Status, owner: string, code: Code, step: (s: string) => void, opts: PairOptions): Promise<PairResult> {
  if (code.expiry <= Date.now() / 1000) throw new Error("this pairing code has expired; the camera shows a new one");
  const chain = ledgerChain(st);
  const link = await rawCall<{ hub_address: string }>("GET", "/link");
  if (!sameAddress(link.hub_address, st.hub_address)) throw new Error("the hub's status and link information name different hub addresses; nothing was signed");
  let epoch = code.epoch;
  try {
    const d = await get<Device>(`/devices/${code.camera}`);
    if (d.owned && code.epoch <= BigInt(d.epoch)) throw new Error(`camera ${code.camera} already has an owner on the ledger; only a reset on the camera frees it`);
    if (BigInt(d.epoch) > epoch) epoch = BigInt(d.epoch);
  } catch (e) {
    if (!(e instanceof HttpError && e.status === 404)) throw e;
  }
  const imprint = withReplay({ camera: code.camera, owner, hub: st.hub_address, epoch });
  const evm = BigInt(st.eip712_chain_id);
  let viewingKey: ViewingKey | undefined, viewingKeyTx: Uint8Array | undefined;
  if (opts.encrypt) {
    step("Making your viewing key in your wallet (it signs one message twice)…");
    viewingKey = await opts.viewingKey();
    step("Sign your viewing key's registration in your wallet: the camera encrypts to it…");
    const m = viewingKeyMsg(viewingKey, randomU64(), imprint.expiry as bigint);
    viewingKeyTx = encodeTx(evm, "ViewingKey", m, [await signMessage(st, owner, "ViewingKey", m)]);
  }
  // The policy names the imprint's epoch and expiry: the camera takes it
  // only with this imprint (a hub relaying the request can neither drop
  // nor swap it).
  step(`Sign the camera's encryption policy in your wallet (end-to-end encryption ${opts.encrypt ? "on" : "off"})…`);
  const policy: Message = { camera: code.camera, epoch, on: opts.encrypt ? 1n : 0n, nonce: randomU64(), expiry: imprint.expiry };
  const encryptionTx = encodeTx(evm, "Encryption", policy, [await signMessage(st, owner, "Encryption", policy)]);
  step("Sign the imprint in your wallet: it makes you the camera's owner…");
  const ownerSig = await signMessage(st, owner, "Imprint", imprint);
  step("The hub is contacting the camera…");
  const relay = await post<RelayAnswer>("/pairings/relay", {
    code: code.text,
    domain: DOMAIN_V2,
    owner,
    epoch: Number(epoch),
    nonce: (imprint.nonce as bigint).toString(),
    expiry: Number(imprint.expiry),
    owner_sig: hex0x(ownerSig),
    encryption_tx: hex0x(encryptionTx),
    ...(viewingKeyTx ? { viewing_key_tx: hex0x(viewingKeyTx) } : {}),
  });
  step("Checking the camera's signatures…");
  const { camSig, pin, pinSig } = checkCamera(chain, code, imprint, relay);
  const raw = encodeTx(BigInt(st.eip712_chain_id), "Imprint", imprint, [ownerSig, camSig]);
  step("Putting the imprint on the ledger…");
  const body: Record<string, string> = { tx: hex0x(raw), camera_tls_pin: hex0x(pin).slice(2), camera_tls_pin_sig: hex0x(pinSig) };
  if (relay.pending_reset) body.reset_tx = relay.pending_reset;
  const res = await rawCall<PairAnswer>("POST", "/pairings", body);
  const d = await get<Device>(`/devices/${code.camera}`);
  if (!d.owned || !sameAddress(d.owner, owner)) throw new Error("the ledger does not show you as the camera's owner");
  return { ...res, encryptionTx, viewingKeyTx, viewingKey };
}
