// provider.mjs: an injected EIP-1193 wallet for the browser tests, backed
// by an ethers Wallet in Node (the key never enters the page), that
// enforces the checks MetaMask documents and applies, so a test fails
// where MetaMask would refuse:
//
//   - accounts are handed out only after eth_requestAccounts, in lower case
//     (as MetaMask does: the page must checksum them itself);
//   - personal_sign and eth_signTypedData_v4 only for the connected account
//     (4100 otherwise);
//   - a personal_sign message that parses as Sign-In with Ethereum must name
//     the requesting page's host as its domain (MetaMask flags any other as
//     a deceptive request; here it is refused);
//   - eth_signTypedData_v4 takes the typed data as a JSON string with
//     types, primaryType, domain and message; the EIP712Domain type must
//     list exactly the domain's members; a domain chainId must equal the
//     active chain ("Provided chainId … must match the active chainId …"),
//     and a verifyingContract must be an address;
//   - anything else is 4200 (unsupported method).
//
// Every request is logged (wallet.log) so tests can assert what was signed.
import { getAddress, isAddress, Wallet } from "ethers";
import { SiweMessage } from "siwe";

export class RpcError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

export function makeWallet(privateKey, activeChainId = 1) {
  const w = new Wallet(privateKey);
  const state = { connected: false, log: [], address: w.address, activeChainId };

  function checkAccount(a) {
    if (!state.connected) throw new RpcError(4100, "The requested account and/or method has not been authorized by the user.");
    if (typeof a !== "string" || a.toLowerCase() !== w.address.toLowerCase()) throw new RpcError(4100, `The requested account ${a} has not been authorized by the user.`);
  }

  function parseChainId(v) {
    if (typeof v === "number") return v;
    if (typeof v === "string") return v.startsWith("0x") ? parseInt(v, 16) : parseInt(v, 10);
    return NaN;
  }

  async function typedData(params) {
    const [addr, json] = params ?? [];
    checkAccount(addr);
    if (typeof json !== "string") throw new RpcError(-32602, "Invalid input: eth_signTypedData_v4 expects the typed data as a JSON string.");
    let td;
    try {
      td = JSON.parse(json);
    } catch {
      throw new RpcError(-32602, "Invalid input: typed data is not JSON.");
    }
    const { types, primaryType, domain, message } = td ?? {};
    if (!types || typeof types !== "object" || !Array.isArray(types.EIP712Domain) || typeof primaryType !== "string" || !types[primaryType] || !domain || typeof domain !== "object" || !message || typeof message !== "object") {
      throw new RpcError(-32602, "Invalid input: typed data does not match the EIP-712 schema.");
    }
    const domainFields = types.EIP712Domain.map((f) => f.name).sort().join(",");
    if (domainFields !== Object.keys(domain).sort().join(",")) throw new RpcError(-32602, `Invalid input: EIP712Domain type (${domainFields}) does not describe the domain (${Object.keys(domain).sort()}).`);
    if ("chainId" in domain) {
      const cid = parseChainId(domain.chainId);
      if (cid !== state.activeChainId) throw new RpcError(-32603, `Provided chainId "${domain.chainId}" must match the active chainId "${state.activeChainId}"`);
    }
    if ("verifyingContract" in domain && !isAddress(domain.verifyingContract)) throw new RpcError(-32602, `Invalid verifyingContract address: "${domain.verifyingContract}"`);
    const t = { ...types };
    delete t.EIP712Domain;
    const sig = await w.signTypedData(domain, t, message);
    state.log.push({ method: "eth_signTypedData_v4", primaryType, domain, message });
    return sig;
  }

  async function personalSign(params, origin) {
    const [data, addr] = params ?? [];
    checkAccount(addr);
    if (typeof data !== "string" || !/^0x([0-9a-fA-F]{2})*$/.test(data)) throw new RpcError(-32602, "Invalid input: personal_sign expects 0x-hex data.");
    const text = Buffer.from(data.slice(2), "hex").toString("utf8");
    let siwe = null;
    try {
      siwe = new SiweMessage(text);
    } catch {
      /* not a SIWE message: plain personal_sign */
    }
    if (siwe) {
      const host = new URL(origin).host;
      if (siwe.domain !== host) throw new RpcError(4001, `Sign-in request from ${host} names the domain ${siwe.domain}: refused as deceptive.`);
      if (getAddress(siwe.address) !== w.address) throw new RpcError(4001, "Sign-in message names another account.");
    }
    const sig = await w.signMessage(Buffer.from(data.slice(2), "hex"));
    state.log.push({ method: "personal_sign", text, siwe: !!siwe });
    return sig;
  }

  async function request(method, params, origin) {
    switch (method) {
      case "eth_requestAccounts":
        state.connected = true;
        return [w.address.toLowerCase()];
      case "eth_accounts":
        return state.connected ? [w.address.toLowerCase()] : [];
      case "eth_chainId":
        return "0x" + state.activeChainId.toString(16);
      case "personal_sign":
        return personalSign(params, origin);
      case "eth_signTypedData_v4":
        return typedData(params);
      default:
        throw new RpcError(4200, `The method ${method} is not supported.`);
    }
  }
  return { state, request };
}

// The page side: window.ethereum forwards to the Node binding and turns
// its {error} answers into EIP-1193 errors with a code.
const shim = `(() => {
  const call = window.__camchainWallet;
  const listeners = {};
  window.ethereum = {
    isMetaMask: false,
    request: async ({ method, params }) => {
      const r = await call(method, params ?? []);
      if (r && r.error) { const e = new Error(r.error.message); e.code = r.error.code; throw e; }
      return r.result;
    },
    on: (ev, fn) => { (listeners[ev] ??= []).push(fn); },
    removeListener: () => {},
  };
})();`;

/** injectWallet gives every page of context a window.ethereum backed by
 * wallet (makeWallet). */
export async function injectWallet(context, wallet) {
  await context.exposeBinding("__camchainWallet", async (source, method, params) => {
    try {
      return { result: await wallet.request(method, params, source.frame.url()) };
    } catch (e) {
      return { error: { code: e.code ?? -32603, message: e.message } };
    }
  });
  await context.addInitScript({ content: shim });
}
