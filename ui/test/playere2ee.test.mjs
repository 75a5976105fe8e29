// playere2ee.test.mjs: the verified player with end-to-end encryption
// (SPEC §17.2, §17.5) in Debian's Chromium (playwright-core), against a
// real hub and a real camera whose owner turned encryption on and whose
// agent streams sealed 200 ms parts; test/e2e TestVerifiedPlayerE2EE starts
// them and passes:
//
//   HUB_URL          the hub's origin
//   OWNER_KEY        the owner's private key
//   VIEWER_KEY       a viewer granted, revoked and granted again
//   HISTORY_VIEWER_KEY a viewer granted later with history from REVOKED_START,
//                    to whom the owner re-wrapped the keys since (SPEC §17.6)
//   CAMERA           the camera
//   REVOKED_START    the start (RFC 3339) of a segment recorded while the
//                    viewer was revoked: sealed under a key not wrapped to it
//   REVOKED_SECONDS  its duration
//   CHROMIUM         the browser
//
// The page verifies the sealed bytes, opens them on this device with the
// account's viewing key (made from the wallet: two personal_sign requests
// of the viewing-key message, once per login) and only then appends them.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { chromium } from "playwright-core";
import { injectWallet, makeWallet } from "./provider.mjs";

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set (test/e2e TestVerifiedPlayerE2EE runs this file)`);
  return v;
};
const HUB = env("HUB_URL");
const CAM = env("CAMERA");
const owner = makeWallet(env("OWNER_KEY"));
const viewer = makeWallet(env("VIEWER_KEY"));
const historyViewer = makeWallet(env("HISTORY_VIEWER_KEY"));
const local = (d) => new Date(d.getTime() - d.getTimezoneOffset() * 60e3).toISOString().slice(0, 19);

let browser;
before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--autoplay-policy=no-user-gesture-required"],
  });
});
after(async () => {
  await browser?.close();
});

// signedIn opens the hub's UI in a new context, signs w in and goes to the
// camera's page. setup(context) runs before the first request: what it
// routes applies to the cameras grid too, whose live tile fetches the
// content key's envelope into the page's keyring before the camera page
// opens.
async function signedIn(w, setup = async () => {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await injectWallet(context, w);
  await setup(context);
  const page = await context.newPage();
  page.on("pageerror", (e) => console.error("page error:", e.message));
  await page.goto(HUB + "/");
  await page.waitForSelector("body[data-ready='1']");
  await page.getByRole("button", { name: "Sign in with your wallet" }).click();
  await page.getByRole("heading", { name: "Cameras" }).waitFor();
  await page.goto(`${HUB}/#/camera/${CAM}`);
  await page.getByRole("heading", { name: "Watch" }).waitFor();
  await page.evaluate(() => {
    const el = document.querySelector(".play-state");
    window.__states = [];
    // Every change, also when one callback brings several: each record's
    // old value is the state before it, the element's the last.
    const push = (s) => window.__states[window.__states.length - 1] !== s && window.__states.push(s);
    new MutationObserver((records) => {
      for (const r of records.slice(1)) push(r.oldValue);
      push(el.dataset.state);
    }).observe(el, { attributes: true, attributeFilter: ["data-state"], attributeOldValue: true });
  });
  return page;
}

const state = (page) => page.locator(".play-state").getAttribute("data-state");
async function waitState(page, want, timeout = 40000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const s = await state(page);
    if (s === want) return;
    if ((s === "broken" || s === "cannot-decrypt") && want !== s) assert.fail(`the player stopped: ${await page.locator(".play-state").innerText()}`);
    assert.ok(Date.now() < deadline, `player state ${s}, not ${want}, after ${timeout} ms: ${await page.locator(".play-state").innerText()}`);
    await page.waitForTimeout(50);
  }
}
const quality = (page) =>
  page.evaluate(() => {
    const v = document.querySelector("video.live");
    const q = v.getVideoPlaybackQuality();
    const b = v.buffered;
    return { t: v.currentTime, frames: q.totalVideoFrames, err: v.error?.message ?? null, ranges: b.length, end: b.length ? b.end(b.length - 1) : 0 };
  });
const inOrder = (got, want) => {
  let i = 0;
  for (const s of got) if (s === want[i]) i++;
  return i === want.length;
};
const viewingKeyPrompts = (w) => w.state.log.filter((e) => e.method === "personal_sign" && e.text.startsWith("camchain viewing key\n")).length;

let ownerPage;

test("owner, E2EE on: the live view with sealed parts opens and plays them (unverified part → verified, frames decoded, time advancing); the wallet is asked once", async () => {
  ownerPage = await signedIn(owner);
  const page = ownerPage;
  await page.getByRole("button", { name: "Watch live" }).click();
  const deadline = Date.now() + 40000;
  for (;;) {
    const got = await page.evaluate(() => window.__states);
    assert.ok(!got.includes("broken") && !got.includes("cannot-decrypt"), `the player stopped: ${await page.locator(".play-state").innerText()}`);
    if (inOrder(got, ["unverified-part", "verified", "unverified-part", "verified"])) break;
    assert.ok(Date.now() < deadline, `states shown: ${JSON.stringify(got)}: ${await page.locator(".play-state").innerText()}`);
    await page.waitForTimeout(100);
  }
  const q0 = await quality(page);
  await page.waitForTimeout(2500);
  const q1 = await quality(page);
  assert.equal(q1.err, null);
  assert.ok(q1.frames > q0.frames && q1.frames > 10, `frames decoded: ${JSON.stringify([q0, q1])}`);
  assert.ok(q1.t > q0.t + 1, `currentTime advancing: ${JSON.stringify([q0, q1])}`);
  assert.ok(["verified", "unverified-part"].includes(await state(page)));
  assert.equal(viewingKeyPrompts(owner), 2, "the viewing key is made from two signatures of its message, once");
});

test("owner, E2EE on: a recorded range opens and plays to its signed end; the viewing key is not asked for again", async () => {
  const page = ownerPage;
  await page.getByRole("button", { name: "Stop" }).click();
  const to = new Date(Date.now() - 4000);
  await page.getByLabel("Recording from").fill(local(new Date(to.getTime() - 12000)));
  await page.getByLabel("Until (empty: on to live)").fill(local(to));
  await page.getByRole("button", { name: "Play recording" }).click();
  await waitState(page, "ended", 40000);
  assert.match(await page.locator(".play-state").innerText(), /End of the range: \d+ segments, all verified/);
  await page.waitForFunction(() => document.querySelector("video.live").getVideoPlaybackQuality().totalVideoFrames > 25, null, { timeout: 20000 });
  const q = await quality(page);
  assert.equal(q.err, null);
  assert.equal(viewingKeyPrompts(owner), 2, "one derivation per login");
  await page.context().close();
});

test("a hub that alters an envelope (one bit of the camera's signature) breaks playback before anything is appended", async () => {
  // The route is in place from the first request: the cameras grid's live
  // tile fetches the envelope too, and the page keeps what it opened.
  let altered = 0;
  const page = await signedIn(owner, (context) =>
    context.route("**/api/v1/devices/*/envelopes?**", async (route) => {
      const resp = await route.fetch();
      const j = await resp.json();
      for (const it of j.items ?? []) {
        const e = it.envelope;
        const i = e.length - 10; // inside the 65-byte signature, the last field
        it.envelope = e.slice(0, i) + (e[i] === "0" ? "1" : "0") + e.slice(i + 1);
        altered++;
      }
      await route.fulfill({ response: resp, json: j });
    }),
  );
  await page.getByRole("button", { name: "Watch live" }).click();
  await waitState(page, "broken", 40000);
  assert.ok(altered > 0);
  assert.equal(await page.locator(".play-state").getAttribute("data-brk"), "envelope");
  assert.match(await page.locator(".play-state").innerText(), /not signed by the camera/);
  const q = await quality(page);
  assert.equal(q.ranges, 0, `nothing appended: ${JSON.stringify(q)}`);
  await page.context().close();
});

test("a viewer revoked and granted again cannot decrypt a segment recorded while revoked: the page says so and appends nothing", async () => {
  const page = await signedIn(viewer);
  const from = new Date(Date.parse(env("REVOKED_START").replace(/(\.\d{3})\d+/, "$1")) + 1000);
  const to = new Date(from.getTime() + Math.max(1000, (Number(env("REVOKED_SECONDS")) - 1.5) * 1000));
  await page.getByLabel("Recording from").fill(local(from));
  await page.getByLabel("Until (empty: on to live)").fill(local(to));
  await page.getByRole("button", { name: "Play recording" }).click();
  await waitState(page, "cannot-decrypt", 40000);
  // The hub served the envelope (the camera's, checked here): it lists only the owner.
  assert.match(await page.locator(".play-state").innerText(), /^Cannot decrypt: this account has no key for this video \(content key \d+ is wrapped to 1 other account\(s\)\)/);
  assert.ok(viewingKeyPrompts(viewer) >= 2, "the viewer's key was made in the page");
  await page.waitForTimeout(1000);
  const q = await quality(page);
  assert.equal(q.ranges, 0, `nothing appended: ${JSON.stringify(q)}`);
  assert.equal(q.frames, 0);
  await page.context().close();
});

test("a viewer granted later with history from that segment's start plays it, through the owner's history envelope (checked as the owner's, opened with its viewing key)", async () => {
  const page = await signedIn(historyViewer);
  let asked = 0;
  page.on("request", (r) => {
    if (r.url().includes("/history-keys?")) asked++;
  });
  const from = new Date(Date.parse(env("REVOKED_START").replace(/(\.\d{3})\d+/, "$1")) + 1000);
  const to = new Date(from.getTime() + Math.max(1000, (Number(env("REVOKED_SECONDS")) - 1.5) * 1000));
  await page.getByLabel("Recording from").fill(local(from));
  await page.getByLabel("Until (empty: on to live)").fill(local(to));
  await page.getByRole("button", { name: "Play recording" }).click();
  await waitState(page, "ended", 40000);
  assert.match(await page.locator(".play-state").innerText(), /End of the range: \d+ segments?, all verified/);
  await page.waitForFunction(() => document.querySelector("video.live").getVideoPlaybackQuality().totalVideoFrames > 0, null, { timeout: 20000 });
  const q = await quality(page);
  assert.equal(q.err, null);
  assert.ok(asked >= 1, "the page asked the hub for its history envelopes");
  await page.context().close();
});
