// tx.ts: signed ledger transactions in their wire form (SPEC §2.3): the
// canonical CBOR array [version, chainId, type, message, signatures]. The
// envelope version names the EIP-712 domain: 2 for the v2 domain the page
// signs in.
import { fromHex, hex0x } from "./bytes";
import { encode, type Item } from "./cbor";
import { DOMAIN_V2, TYPES, type Message, type MsgType } from "./eip712";

/** encodeTx returns the wire bytes of a v2-domain transaction. */
export function encodeTx(evmChainID: bigint, type: MsgType, msg: Message, sigs: Uint8Array[]): Uint8Array {
  const fields: Item[] = TYPES[type].map((f) => {
    const v = msg[f.name];
    if (f.type === "address") return fromHex(v as string, 20);
    return v as Item;
  });
  return encode([BigInt(DOMAIN_V2), evmChainID, type, fields, sigs]);
}

export const txHex = (b: Uint8Array): string => hex0x(b);
