// ethers.mjs: an independent Ethereum implementation (ethers, pinned in
// package.json) that camchain's Go tests compare themselves against.
//
// Reads one JSON request, or an array of requests, on stdin and prints the
// matching JSON response (or array) on stdout. A request that fails yields
// {"error": "..."} in its place; the process exits 0 unless stdin itself is
// not JSON. Ops:
//
//   address        {mnemonic, passphrase, path?}            -> {address}
//   signMessage    {mnemonic, passphrase | privateKey, message | messageHex}
//                                                           -> {address, signature}
//   verifyMessage  {message | messageHex, signature}        -> {address}
//   hashMessage    {message | messageHex}                   -> {hash}
//   signTypedData  {mnemonic, passphrase | privateKey, domain, types, message}
//                                                           -> {address, signature}
//   hashTypedData  {domain, types, message}                 -> {hash}
//   verifyTypedData {domain, types, message, signature}     -> {address}
//   encryptKeystore {privateKey, password | passwordHex, scryptN?}
//                                                           -> {json}
//   decryptKeystore {json, password | passwordHex}          -> {address, privateKey}
//   wordlist       {}                                       -> {words: [2048 words]}
//
// Keystore passwords: a "password" string is used as ethers uses it (NFKC);
// "passwordHex" gives the exact bytes, e.g. the NFKD form camchain seals with.
// "types" may include or omit EIP712Domain; ethers derives it from "domain".
// Integers in typed data may be JSON numbers or decimal/0x strings.
import {
  HDNodeWallet,
  Wallet,
  TypedDataEncoder,
  decryptKeystoreJson,
  encryptKeystoreJson,
  getBytes,
  hashMessage,
  verifyMessage,
  verifyTypedData,
  wordlists,
} from "ethers";

const DEFAULT_PATH = "m/44'/60'/0'/0/0";

function wallet(req) {
  if (typeof req.privateKey === "string") {
    return new Wallet(req.privateKey);
  }
  if (typeof req.mnemonic !== "string") {
    throw new Error("need mnemonic (with passphrase) or privateKey");
  }
  return HDNodeWallet.fromPhrase(req.mnemonic, req.passphrase ?? "", req.path ?? DEFAULT_PATH);
}

function message(req) {
  if (typeof req.messageHex === "string") return getBytes(req.messageHex);
  if (typeof req.message === "string") return req.message;
  throw new Error("need message (text) or messageHex (0x bytes)");
}

function typed(req) {
  const types = { ...(req.types ?? {}) };
  delete types.EIP712Domain;
  return { domain: req.domain ?? {}, types, message: req.message ?? {} };
}

function password(req) {
  if (typeof req.passwordHex === "string") return getBytes(req.passwordHex);
  if (typeof req.password === "string") return req.password;
  throw new Error("need password (text) or passwordHex (0x bytes)");
}

const ops = {
  address(req) {
    return { address: wallet(req).address };
  },
  async signMessage(req) {
    const w = wallet(req);
    return { address: w.address, signature: await w.signMessage(message(req)) };
  },
  verifyMessage(req) {
    return { address: verifyMessage(message(req), req.signature) };
  },
  hashMessage(req) {
    return { hash: hashMessage(message(req)) };
  },
  async signTypedData(req) {
    const w = wallet(req);
    const t = typed(req);
    return { address: w.address, signature: await w.signTypedData(t.domain, t.types, t.message) };
  },
  hashTypedData(req) {
    const t = typed(req);
    return { hash: TypedDataEncoder.hash(t.domain, t.types, t.message) };
  },
  verifyTypedData(req) {
    const t = typed(req);
    return { address: verifyTypedData(t.domain, t.types, t.message, req.signature) };
  },
  async encryptKeystore(req) {
    const w = new Wallet(req.privateKey);
    const options = req.scryptN ? { scrypt: { N: req.scryptN } } : {};
    const json = await encryptKeystoreJson({ address: w.address, privateKey: w.privateKey }, password(req), options);
    return { json };
  },
  async decryptKeystore(req) {
    const a = await decryptKeystoreJson(req.json, password(req));
    return { address: a.address, privateKey: a.privateKey };
  },
  wordlist() {
    const wl = wordlists.en;
    const words = [];
    for (let i = 0; i < 2048; i++) words.push(wl.getWord(i));
    return { words };
  },
};

async function run(req) {
  try {
    const op = ops[req?.op];
    if (!op) throw new Error(`unknown op ${JSON.stringify(req?.op)}`);
    return await op(req);
  } catch (e) {
    return { error: String(e?.shortMessage ?? e?.message ?? e) };
  }
}

const chunks = [];
for await (const c of process.stdin) chunks.push(c);
let input;
try {
  input = JSON.parse(Buffer.concat(chunks).toString("utf8"));
} catch (e) {
  process.stderr.write(`ethers.mjs: stdin is not JSON: ${e.message}\n`);
  process.exit(2);
}
const out = Array.isArray(input) ? await Promise.all(input.map(run)) : await run(input);
process.stdout.write(JSON.stringify(out) + "\n");
