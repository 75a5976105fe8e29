// eip712.ts: camchain's ledger messages as EIP-712 typed data (SPEC §2.1,
// §2.2), the digests the ledger checks, and the wallet JSON for
// eth_signTypedData_v4. The page signs in domain v2 — no chainId, a salt
// that binds the ledger — because wallets refuse typed data whose domain
// chainId is not their active chain, and a camchain ledger is no EVM chain.
import { concatBytes, fromHex, hex0x, keccak, utf8ToBytes } from "./bytes";

export type FieldType = "address" | "uint64" | "bytes32" | "string" | "bytes";
export type Value = string | bigint | Uint8Array;
export interface Field {
  name: string;
  type: FieldType;
}

/** The message types the page signs, in the ledger's field order (SPEC §2.2). */
export const TYPES = {
  Imprint: [
    { name: "camera", type: "address" },
    { name: "owner", type: "address" },
    { name: "hub", type: "address" },
    { name: "epoch", type: "uint64" },
    { name: "nonce", type: "uint64" },
    { name: "expiry", type: "uint64" },
  ],
  Grant: [
    { name: "camera", type: "address" },
    { name: "epoch", type: "uint64" },
    { name: "viewer", type: "address" },
    { name: "validUntil", type: "uint64" },
    { name: "historyFrom", type: "uint64" },
    { name: "nonce", type: "uint64" },
    { name: "expiry", type: "uint64" },
  ],
  Revoke: [
    { name: "camera", type: "address" },
    { name: "epoch", type: "uint64" },
    { name: "viewer", type: "address" },
    { name: "nonce", type: "uint64" },
    { name: "expiry", type: "uint64" },
  ],
  SetPolicy: [
    { name: "camera", type: "address" },
    { name: "epoch", type: "uint64" },
    { name: "checkpointPeriod", type: "uint64" },
    { name: "nonce", type: "uint64" },
    { name: "expiry", type: "uint64" },
  ],
  Retention: [
    { name: "camera", type: "address" },
    { name: "epoch", type: "uint64" },
    { name: "days", type: "uint64" },
    { name: "nonce", type: "uint64" },
    { name: "expiry", type: "uint64" },
  ],
  Encryption: [
    { name: "camera", type: "address" },
    { name: "epoch", type: "uint64" },
    { name: "on", type: "uint64" },
    { name: "nonce", type: "uint64" },
    { name: "expiry", type: "uint64" },
  ],
  ViewingKey: [
    { name: "account", type: "address" },
    { name: "kem", type: "uint64" },
    { name: "publicKey", type: "bytes" },
    { name: "nonce", type: "uint64" },
    { name: "expiry", type: "uint64" },
  ],
} as const satisfies Record<string, readonly Field[]>;

export type MsgType = keyof typeof TYPES;
export type Message = Record<string, Value>;

/** Domain versions (SPEC §2.1): v1 carries chainId, v2 a salt instead. */
export const DOMAIN_NAME = "camchain";
export const DOMAIN_V2 = 2;

/** The v2 domain's salt: keccak256 of the ledger's chain id string
 * ("camchain-<n>"), binding a signature to one ledger. */
export const ledgerSalt = (ledgerChainID: string): Uint8Array => keccak(utf8ToBytes(ledgerChainID));

const typeString = (name: string, fields: readonly Field[]) => `${name}(${fields.map((f) => `${f.type} ${f.name}`).join(",")})`;

const DOMAIN_V2_FIELDS: Field[] = [
  { name: "name", type: "string" },
  { name: "version", type: "string" },
  { name: "salt", type: "bytes32" },
];

function word(v: bigint): Uint8Array {
  if (v < 0n || v >= 1n << 256n) throw new Error("uint out of range");
  const b = new Uint8Array(32);
  for (let i = 31; i >= 0; i--) {
    b[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return b;
}

function encodeValue(t: FieldType, v: Value): Uint8Array {
  switch (t) {
    case "address": {
      const b = new Uint8Array(32);
      b.set(fromHex(v as string, 20), 12);
      return b;
    }
    case "uint64": {
      const n = v as bigint;
      if (n < 0n || n >= 1n << 64n) throw new Error("uint64 out of range");
      return word(n);
    }
    case "bytes32":
      if ((v as Uint8Array).length !== 32) throw new Error("bytes32 must be 32 bytes");
      return v as Uint8Array;
    case "string":
      return keccak(utf8ToBytes(v as string));
    case "bytes":
      return keccak(v as Uint8Array);
  }
}

export function hashStruct(name: string, fields: readonly Field[], msg: Message): Uint8Array {
  const parts = [keccak(utf8ToBytes(typeString(name, fields)))];
  for (const f of fields) {
    if (!(f.name in msg)) throw new Error(`${name}.${f.name} missing`);
    parts.push(encodeValue(f.type, msg[f.name]));
  }
  return keccak(concatBytes(...parts));
}

export function domainSeparatorV2(ledgerChainID: string): Uint8Array {
  return hashStruct("EIP712Domain", DOMAIN_V2_FIELDS, { name: DOMAIN_NAME, version: String(DOMAIN_V2), salt: ledgerSalt(ledgerChainID) });
}

/** The v1 domain's separator: {name "camchain", version "1", chainId n}. */
export function domainSeparatorV1(evmChainID: bigint): Uint8Array {
  const t = keccak(utf8ToBytes("EIP712Domain(string name,string version,uint256 chainId)"));
  return keccak(concatBytes(t, keccak(utf8ToBytes(DOMAIN_NAME)), keccak(utf8ToBytes("1")), word(evmChainID)));
}

/** The signing digest of a message of any type, in the domain its
 * envelope names (1 or 2; SPEC §2.1, §2.3): what the evidence verifier
 * recovers a checkpoint's signer from. */
export function digestIn(domain: bigint, evmChainID: bigint, type: string, fields: readonly Field[], msg: Message): Uint8Array {
  const sep = domain === 1n ? domainSeparatorV1(evmChainID) : domainSeparatorV2(`camchain-${evmChainID}`);
  return keccak(concatBytes(Uint8Array.of(0x19, 0x01), sep, hashStruct(type, fields, msg)));
}

/** keccak256(0x19 ‖ 0x01 ‖ domainSeparator ‖ hashStruct(message)) in domain v2. */
export function digestV2(ledgerChainID: string, type: MsgType, msg: Message): Uint8Array {
  return keccak(concatBytes(Uint8Array.of(0x19, 0x01), domainSeparatorV2(ledgerChainID), hashStruct(type, TYPES[type], msg)));
}

/** The JSON argument of eth_signTypedData_v4 (integers as decimal strings,
 * bytes as 0x hex): exactly what the wallet shows and signs. */
export function walletJSON(ledgerChainID: string, type: MsgType, msg: Message): string {
  const m: Record<string, string> = {};
  for (const f of TYPES[type]) {
    const v = msg[f.name];
    m[f.name] = typeof v === "bigint" ? v.toString() : v instanceof Uint8Array ? hex0x(v) : v;
  }
  return JSON.stringify({
    types: { EIP712Domain: DOMAIN_V2_FIELDS, [type]: TYPES[type] },
    primaryType: type,
    domain: { name: DOMAIN_NAME, version: String(DOMAIN_V2), salt: hex0x(ledgerSalt(ledgerChainID)) },
    message: m,
  });
}
