// siwe.mjs: logs in to a camchain hub with the `siwe` npm package (EIP-4361,
// pinned in package.json) and an ethers wallet — an implementation of the
// login that is not camchain's. camchain's Go tests drive it.
//
// Reads one JSON request on stdin, prints one JSON response. Ops:
//
//   login  {hub, privateKey, client, head?, statement?: bool, domain?, chainId?}
//          -> {status, body, message, signature, localVerify}
//          GET {hub}/api/v1/auth/nonce, write the message with SiweMessage
//          (statement omitted when statement is false; domain and chainId
//          overridable for negative tests), sign it with personal_sign,
//          check it with siwe's own verify, POST {hub}/api/v1/auth/login.
//   post   {hub, path, body, token?} -> {status, body}
//   get    {hub, path, token?}       -> {status, body}
import { Wallet } from "ethers";
import { SiweMessage } from "siwe";

async function call(hub, method, path, body, token) {
  const headers = { "Content-Type": "application/json" };
  if (token) headers.Authorization = "Bearer " + token;
  const res = await fetch(hub + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}

async function login(req) {
  const wallet = new Wallet(req.privateKey);
  const n = await call(req.hub, "GET", "/api/v1/auth/nonce");
  if (n.status !== 200) throw new Error("nonce: " + JSON.stringify(n));
  const now = new Date();
  const fields = {
    domain: req.domain ?? n.body.domain,
    address: wallet.address,
    uri: n.body.uri,
    version: "1",
    chainId: req.chainId ?? n.body.chain_id,
    nonce: n.body.nonce,
    issuedAt: now.toISOString(),
    expirationTime: new Date(now.getTime() + 5 * 60 * 1000).toISOString(),
  };
  if (req.statement !== false) fields.statement = n.body.statement;
  const msg = new SiweMessage(fields);
  const message = msg.prepareMessage();
  const signature = await wallet.signMessage(message);
  const local = await msg.verify({ signature }, { suppressExceptions: true });
  const body = { message, signature, client: req.client };
  if (req.head) body.head = req.head;
  const r = await call(req.hub, "POST", "/api/v1/auth/login", body);
  return { ...r, message, signature, localVerify: local.success === true };
}

const input = JSON.parse(await new Promise((resolve) => {
  let s = "";
  process.stdin.on("data", (d) => (s += d));
  process.stdin.on("end", () => resolve(s));
}));
let out;
try {
  switch (input.op) {
    case "login": out = await login(input); break;
    case "post": out = await call(input.hub, "POST", input.path, input.body, input.token); break;
    case "get": out = await call(input.hub, "GET", input.path, undefined, input.token); break;
    default: throw new Error("unknown op " + input.op);
  }
} catch (e) {
  out = { error: String(e && e.message || e) };
}
process.stdout.write(JSON.stringify(out));
