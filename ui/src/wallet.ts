// wallet.ts: the browser wallet through EIP-1193 (window.ethereum, or the
// first wallet announced through EIP-6963). The page asks it for accounts,
// personal_sign of the sign-in message and eth_signTypedData_v4 of ledger
// messages; it never sees a key.
import { bytesToHex, parseAddress, utf8ToBytes } from "./bytes";

export interface EIP1193 {
  request(args: { method: string; params?: unknown[] }): Promise<unknown>;
  on?(event: string, fn: (...a: unknown[]) => void): void;
}

declare global {
  interface Window {
    ethereum?: EIP1193;
  }
}

let announced: EIP1193 | undefined;
window.addEventListener("eip6963:announceProvider", (e: Event) => {
  const d = (e as CustomEvent).detail as { provider?: EIP1193 } | undefined;
  if (d?.provider && !announced) announced = d.provider;
});
window.dispatchEvent(new Event("eip6963:requestProvider"));

export const provider = (): EIP1193 | undefined => window.ethereum ?? announced;

/** A wallet error with the EIP-1193 code (4001: the user said no). */
export class WalletError extends Error {
  constructor(
    message: string,
    public code?: number,
  ) {
    super(message);
  }
}

async function req(method: string, params?: unknown[]): Promise<unknown> {
  const p = provider();
  if (!p) throw new WalletError("No browser wallet found. Install one (MetaMask, Rabby, Coinbase Wallet…) or log in from another device.");
  try {
    return await p.request({ method, params });
  } catch (e) {
    const err = e as { code?: number; message?: string };
    if (err.code === 4001) throw new WalletError("You declined the request in your wallet.", 4001);
    throw new WalletError(err.message ?? String(e), err.code);
  }
}

export async function account(): Promise<string> {
  const accts = (await req("eth_requestAccounts")) as string[];
  if (!accts?.length) throw new WalletError("The wallet shared no account.");
  return parseAddress(accts[0]);
}

export const personalSign = async (address: string, text: string): Promise<string> =>
  (await req("personal_sign", ["0x" + bytesToHex(utf8ToBytes(text)), address])) as string;

export const signTypedData = async (address: string, json: string): Promise<string> =>
  (await req("eth_signTypedData_v4", [address, json])) as string;
