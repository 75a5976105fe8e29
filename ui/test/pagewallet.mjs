// pagewallet.mjs: an EIP-1193 wallet that lives in the page, for browsers
// driven over W3C WebDriver (WebKitGTK's WebKitWebDriver), which cannot
// bind a page function to Node the way provider.mjs does with Playwright.
// webkit.test.mjs bundles it with esbuild and runs it in the page with the
// test key in globalThis.__camchainTestKey. It answers what the web UI's
// sign-in asks (eth_requestAccounts, eth_accounts, eth_chainId,
// personal_sign for the connected account only) and refuses the rest
// (4200), as provider.mjs does.
import { getBytes, isHexString, toUtf8Bytes, Wallet } from "ethers";

const w = new Wallet(globalThis.__camchainTestKey);
let connected = false;
const err = (code, message) => Object.assign(new Error(message), { code });

globalThis.ethereum = {
  isMetaMask: false,
  async request({ method, params }) {
    switch (method) {
      case "eth_requestAccounts":
        connected = true;
        return [w.address.toLowerCase()];
      case "eth_accounts":
        return connected ? [w.address.toLowerCase()] : [];
      case "eth_chainId":
        return "0x1";
      case "personal_sign": {
        const [msg, addr] = params ?? [];
        if (!connected || typeof addr !== "string" || addr.toLowerCase() !== w.address.toLowerCase()) throw err(4100, "The requested account has not been authorized by the user.");
        return w.signMessage(isHexString(msg) ? getBytes(msg) : toUtf8Bytes(String(msg)));
      }
      default:
        throw err(4200, `unsupported method ${method}`);
    }
  },
  on() {},
  removeListener() {},
};
