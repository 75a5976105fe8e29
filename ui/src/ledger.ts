// ledger.ts: signing a ledger message in the wallet and submitting it.
// The wallet shows the typed data (EIP-712, domain v2); the page checks
// that the signature recovers to the account before it sends anything.
import { hex0x, randomU64, sameAddress } from "./bytes";
import { digestV2, walletJSON, type Message, type MsgType } from "./eip712";
import { rawCall } from "./session";
import { normalize, recover } from "./sig";
import { encodeTx } from "./tx";
import type { Status, TxResult } from "./types";
import { signTypedData } from "./wallet";

/** How long a signed message stays valid (the ledger refuses it after). */
export const TX_TTL_SECONDS = 10 * 60;

export const nowSec = (): bigint => BigInt(Math.floor(Date.now() / 1000));

/** The ledger's chain id string, checked against its EIP-712 number (SPEC §2.1). */
export function ledgerChain(st: Status): string {
  const want = `camchain-${st.eip712_chain_id}`;
  if (st.chain_id !== want) throw new Error(`the hub reports ledger ${st.chain_id} but chain id ${st.eip712_chain_id}`);
  return want;
}

/** Adds nonce and expiry to fields. */
export const withReplay = (fields: Message): Message => ({ ...fields, nonce: randomU64(), expiry: nowSec() + BigInt(TX_TTL_SECONDS) });

/** signMessage asks the wallet for an eth_signTypedData_v4 signature of
 * msg and returns it normalised, after checking that it is signer's. */
export async function signMessage(st: Status, signer: string, type: MsgType, msg: Message): Promise<Uint8Array> {
  const chain = ledgerChain(st);
  const sig = normalize(await signTypedData(signer, walletJSON(chain, type, msg)));
  if (!sameAddress(recover(digestV2(chain, type, msg), sig), signer)) {
    throw new Error("the wallet's signature is not the account's for this message (wrong account selected?)");
  }
  return sig;
}

export async function signAndSubmit(st: Status, signer: string, type: MsgType, fields: Message): Promise<TxResult> {
  const msg = withReplay(fields);
  const sig = await signMessage(st, signer, type, msg);
  const raw = encodeTx(BigInt(st.eip712_chain_id), type, msg, [sig]);
  return rawCall<TxResult>("POST", "/txs", { tx: hex0x(raw) });
}
