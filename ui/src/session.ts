// session.ts: this browser's login with the hub (SPEC §11): the access
// token in the hub's HttpOnly session cookie (§11.9: script never sees
// it; every request carries the CSRF header), and the login chain —
// client id, head, renewal secret — in localStorage, which every tab of
// this origin shares. A login
// or renewal advances the head, so they run one at a time across tabs
// under a Web Lock: each reads the newest (head, secret) inside the lock,
// and no tab presents a head another tab has already moved on from (which
// the hub would take for a clone).
import { bytesToHex, randomBytes } from "./bytes";
import { siweMessage, type NonceAnswer } from "./siwe";
import { account, personalSign } from "./wallet";
import { recover, normalize, personalDigest } from "./sig";
import { sameAddress } from "./bytes";

export interface Chain {
  client: string;
  head: string;
  renewal: string;
}

interface SessionAnswer {
  expires?: string;
  pending?: boolean;
  address: string;
  client: string;
  head: string;
  renewal: string;
  enrolled: boolean;
}

export interface Session {
  address: string;
  client: string;
  expires: number; // ms since the epoch
  enrolled: boolean;
}

/** PendingError: the owner requires approval of new clients (SPEC §11.11);
 * an enrolled client must approve this one, which then renews into a
 * session. */
export class PendingError extends Error {
  constructor(public address: string, public client: string) {
    super(`this browser (client ${client.slice(0, 8)}…) waits for approval by one of your enrolled devices`);
  }
}

const chainKey = (addr: string) => "camchain.login-chain." + addr.toLowerCase();
const lastKey = "camchain.last-address";

export function loadChain(addr: string): Chain | null {
  try {
    const v = JSON.parse(localStorage.getItem(chainKey(addr)) ?? "null");
    if (v && typeof v.client === "string" && typeof v.head === "string") return v as Chain;
  } catch {
    /* a damaged entry is a new client */
  }
  return null;
}

const saveChain = (addr: string, c: Chain) => localStorage.setItem(chainKey(addr), JSON.stringify(c));
const dropChain = (addr: string) => localStorage.removeItem(chainKey(addr));

export const lastAddress = (): string | null => localStorage.getItem(lastKey);

/** withLock runs fn holding the origin-wide login lock of addr. */
async function withLock<T>(addr: string, fn: () => Promise<T>): Promise<T> {
  const locks = (navigator as Navigator & { locks?: LockManager }).locks;
  if (!locks) return fn(); // no Web Locks (very old browsers): one tab at a time is on the user
  return locks.request("camchain-login-" + addr.toLowerCase(), fn) as Promise<T>;
}

export class HttpError extends Error {
  constructor(
    public status: number,
    public code: string,
    message: string,
  ) {
    super(message);
  }
}

export async function rawCall<T>(method: string, path: string, body?: unknown): Promise<T> {
  // The CSRF header on every request (§11.9): a cross-origin page cannot
  // add it without a preflight, which the hub refuses.
  const headers: Record<string, string> = { Accept: "application/json", "X-Camchain-CSRF": "1" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch("/api/v1" + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
    cache: "no-store",
  });
  const text = await res.text();
  let j: unknown = undefined;
  try {
    j = text ? JSON.parse(text) : undefined;
  } catch {
    /* not JSON */
  }
  if (!res.ok) {
    const e = (j as { error?: { code?: string; message?: string } } | undefined)?.error;
    throw new HttpError(res.status, e?.code ?? String(res.status), e?.message ?? `HTTP ${res.status}`);
  }
  return j as T;
}

export function adopt(a: SessionAnswer): Session {
  saveChain(a.address, { client: a.client, head: a.head, renewal: a.renewal });
  localStorage.setItem(lastKey, a.address);
  if (a.pending || !a.expires) throw new PendingError(a.address, a.client);
  return { address: a.address, client: a.client, expires: Date.parse(a.expires), enrolled: a.enrolled };
}

export type { SessionAnswer };

/** login signs in with the browser wallet: the wallet signs the SIWE
 * message the page wrote from the hub's nonce; the page checks that the
 * signature is the account's before sending it. */
export async function login(onStep: (s: string) => void): Promise<Session> {
  onStep("Asking your wallet for an account…");
  const address = await account();
  return withLock(address, async () => {
    const chain = loadChain(address);
    const client = chain?.client ?? bytesToHex(randomBytes(16));
    const n = await rawCall<NonceAnswer>("GET", "/auth/nonce");
    if (n.uri !== location.origin && !n.uri.startsWith(location.origin + "/")) {
      throw new Error(`the hub names ${n.uri} as its origin, but this page is ${location.origin}: open the page at the hub's public address`);
    }
    const message = siweMessage(n, address, new Date());
    onStep("Confirm the sign-in in your wallet…");
    const sigHex = await personalSign(address, message);
    const sig = normalize(sigHex);
    if (!sameAddress(recover(personalDigest(message), sig), address)) throw new Error("the wallet's signature is not by the account it shared");
    onStep("Checking with the hub…");
    const body: Record<string, string | boolean> = { message, signature: "0x" + bytesToHex(sig), client, cookie: true };
    if (chain?.head) body.head = chain.head;
    return adopt(await rawCall<SessionAnswer>("POST", "/auth/login", body));
  });
}

/** renew gets a new token with the stored (head, secret), without the
 * wallet. A refused renewal drops the chain: log in again. */
export async function renew(address: string): Promise<Session> {
  return withLock(address, async () => {
    const c = loadChain(address);
    if (!c?.renewal) throw new HttpError(401, "unauthenticated", "no stored session: log in");
    try {
      return adopt(await rawCall<SessionAnswer>("POST", "/auth/renew", { client: c.client, head: c.head, renewal: c.renewal, cookie: true }));
    } catch (e) {
      // A refused renewal ends the stored session — except while the
      // client waits for approval: its secret stays good for after it.
      if (e instanceof HttpError && e.code === "pending_approval") throw new PendingError(address, c.client);
      if (e instanceof HttpError && (e.status === 401 || e.status === 403)) saveChain(address, { ...c, renewal: "" });
      throw e;
    }
  });
}

/** logout clears the session cookie and forgets the renewal secret (the
 * client id and head stay, so the next login with the wallet continues
 * this client's chain). */
export async function logout(address: string): Promise<void> {
  const c = loadChain(address);
  if (c) saveChain(address, { ...c, renewal: "" });
  await rawCall("POST", "/auth/logout", {}).catch(() => undefined);
}

interface DeviceCode {
  request: string;
  code: string;
  secret: string;
  expires: string;
  interval: number;
}

/** deviceLogin is the device flow (SPEC §11.8) for a browser without a
 * wallet: it shows a code that the owner approves with a wallet elsewhere
 * (camchain login --approve CODE), and polls for the session. With an
 * address, this browser's stored chain for it continues and only that
 * wallet may approve. */
export async function deviceLogin(address: string | null, show: (code: string, expires: Date) => void, signal: AbortSignal): Promise<Session> {
  const chain = address ? loadChain(address) : null;
  const client = chain?.client ?? bytesToHex(randomBytes(16));
  const body: Record<string, string> = { client };
  if (chain?.head) body.head = chain.head;
  if (address) body.address = address;
  const dc = await rawCall<DeviceCode>("POST", "/auth/device", body);
  show(dc.code, new Date(dc.expires));
  const until = Date.parse(dc.expires);
  while (Date.now() < until) {
    await new Promise((r) => setTimeout(r, Math.max(1, dc.interval) * 1000));
    if (signal.aborted) throw new Error("cancelled");
    const t = await rawCall<{ status: string; session?: SessionAnswer }>("POST", "/auth/device/token", { request: dc.request, secret: dc.secret, cookie: true });
    if (t.status === "approved" && t.session) return adopt(t.session);
  }
  throw new Error("the code expired before it was approved; start again");
}

export const forgetClient = dropChain;
