// session.test.mjs: a browser session's cookie and the attacks on it, in
// Debian's Chromium driven by playwright-core, against a real hub that
// test/e2e TestBrowserSessionResistsCrossSiteAttacks starts:
//
//   HUB_URL       the hub's origin (http://127.0.0.1:PORT)
//   ATTACKER_URL  another origin of the same site (127.0.0.1, another port):
//                 a page the victim visits, which the cookie's SameSite does
//                 not keep out; only the hub's Origin check does
//   KEY           the victim wallet's private key
//   CHROMIUM      the browser (default /usr/bin/chromium)
//
// The page logs in with "cookie": true as the web UI can (docs/SPEC.md
// §11.9); then the attacker's page tries to revoke the victim's client with
// the cookie, by every means a page has. All must fail; the same request
// from the hub's own page, with the header, must work.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, test } from "node:test";
import { chromium } from "playwright-core";
import { Wallet } from "ethers";
import { SiweMessage } from "siwe";

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set (test/e2e TestBrowserSessionResistsCrossSiteAttacks runs this file)`);
  return v;
};
const HUB = env("HUB_URL");
const ATTACKER = env("ATTACKER_URL");
const wallet = new Wallet(env("KEY"));
let browser;

before(async () => {
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: ["--no-sandbox"] });
});
after(async () => {
  await browser?.close();
});

test("the session cookie survives a same-site attacker's every request", async () => {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await page.goto(HUB + "/");

  // Log in from the hub's own page, asking for the cookie.
  const n = await page.evaluate(async () => (await fetch("/api/v1/auth/nonce")).json());
  const message = new SiweMessage({
    domain: n.domain, address: wallet.address, statement: n.statement, uri: n.uri, version: "1",
    chainId: n.chain_id, nonce: n.nonce, issuedAt: new Date().toISOString(),
  }).prepareMessage();
  const signature = await wallet.signMessage(message);
  const client = randomBytes(16).toString("hex");
  const login = await page.evaluate(async (body) => {
    const r = await fetch("/api/v1/auth/login", {
      method: "POST", headers: { "Content-Type": "application/json", "X-Camchain-CSRF": "1" }, body: JSON.stringify(body),
    });
    return { status: r.status, body: await r.json(), visible: document.cookie };
  }, { message, signature, client, cookie: true });
  assert.equal(login.status, 200, JSON.stringify(login.body));
  assert.equal(login.body.access_token, undefined, "a cookie login's body carries no token");
  assert.equal(login.body.token_type, "Cookie");
  assert.ok(!login.visible.includes("camchain"), `script can read the session cookie: ${login.visible}`);
  const jar = (await ctx.cookies(HUB)).find((c) => c.name === "__Host-camchain-session");
  assert.ok(jar, "the browser kept no session cookie");
  assert.equal(jar.httpOnly, true);
  assert.equal(jar.secure, true);
  assert.equal(jar.sameSite, "Strict");
  assert.equal(jar.path, "/");

  const session = () => page.evaluate(async () => (await fetch("/api/v1/auth/session")).status);
  assert.equal(await session(), 200, "the cookie authenticates the hub's own page");

  // The attacker's page: same site (127.0.0.1), another origin.
  const revoke = `${HUB}/api/v1/auth/clients/${client}/revoke`;
  const evil = await ctx.newPage();
  await evil.goto(ATTACKER + "/");
  const attempts = await evil.evaluate(async (u) => {
    const out = {};
    // A "simple" request: no preflight, the browser attaches the cookie.
    try {
      await fetch(u, { method: "POST", mode: "no-cors", credentials: "include", headers: { "Content-Type": "text/plain" }, body: "{}" });
      out.noCors = "sent";
    } catch (e) {
      out.noCors = "blocked: " + e.message;
    }
    // With the header: needs a preflight, which the hub refuses.
    try {
      const r = await fetch(u, { method: "POST", credentials: "include", headers: { "Content-Type": "application/json", "X-Camchain-CSRF": "1" }, body: "{}" });
      out.withHeader = "answered " + r.status;
    } catch (e) {
      out.withHeader = "blocked: " + e.message;
    }
    // Reading the victim's session: no CORS, so no answer to read.
    try {
      const r = await fetch(new URL("/api/v1/auth/session", u), { credentials: "include" });
      out.read = "read " + (await r.text());
    } catch (e) {
      out.read = "blocked: " + e.message;
    }
    return out;
  }, revoke);
  assert.ok(attempts.withHeader.startsWith("blocked"), `the preflighted request went through: ${attempts.withHeader}`);
  assert.ok(attempts.read.startsWith("blocked"), `the attacker read the session: ${attempts.read}`);
  assert.equal(await session(), 200, `a no-cors POST from ${ATTACKER} revoked the session (${attempts.noCors})`);

  // A form post, the oldest forgery: the browser navigates to the hub.
  await evil.setContent(`<form method="POST" action="${revoke}" enctype="text/plain"><input name='{"x":"' value='"}'></form>`);
  await Promise.all([evil.waitForNavigation(), evil.evaluate(() => document.forms[0].submit())]);
  const answer = await evil.textContent("body");
  assert.match(answer, /forbidden/, `the forged form was not refused: ${answer}`);
  assert.equal(await session(), 200, "a forged form post revoked the session");

  // The same revoke from the hub's own page, with the header: it works,
  // so the attacks above were refused, not merely aimed wrong.
  const own = await page.evaluate(async (u) => (await fetch(u, {
    method: "POST", headers: { "Content-Type": "application/json", "X-Camchain-CSRF": "1" }, body: "{}",
  })).status, revoke);
  assert.equal(own, 200);
  assert.equal(await session(), 401, "the revoked client's cookie still works");
  await ctx.close();
});
