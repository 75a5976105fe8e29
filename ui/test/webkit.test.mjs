// webkit.test.mjs: the verified player in a WebKit engine — Debian's
// WebKitGTK (MiniBrowser) driven over W3C WebDriver by WebKitWebDriver —
// against a real hub and a real camera that test/e2e TestWebKitPlayer
// starts (under xvfb-run: WebKitGTK needs a display) and passes in:
//
//   HUB_URL     the hub's origin (https: WebKit keeps no Secure cookie from plain-HTTP loopback)
//   OWNER_KEY   the owner's private key (an in-page wallet, pagewallet.mjs)
//   CAMERA      the camera, recording the built-in sample (H.264)
//   CAMERA_PARTS a camera over RTSP (H.264) whose agent streams 200 ms parts
//   MINIBROWSER the WebKitGTK browser binary; SHOTS where screenshots go
//
// The ManagedMediaSource path (what iPhone Safari has instead of
// MediaSource, iOS 17.1+) is taken by hiding MediaSource from the page;
// the MediaSource path is WebKit's own. Both must verify every segment in
// the page and decode frames; with parts, every part.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, test } from "node:test";
import { build } from "esbuild";
import { Session, startDriver } from "./webdriver.mjs";

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set (test/e2e TestWebKitPlayer runs this file)`);
  return v;
};
const HUB = env("HUB_URL");
const CAM = env("CAMERA");
const here = dirname(fileURLToPath(import.meta.url));

let driver, s, wallet;
before(async () => {
  const b = await build({ entryPoints: [join(here, "pagewallet.mjs")], bundle: true, format: "iife", platform: "browser", target: "es2020", write: false, logLevel: "warning" });
  wallet = b.outputFiles[0].text;
  driver = await startDriver();
  // The hub's own generated certificate (its fingerprint is pinned by the CLI, not known to the browser).
  s = await Session.create(driver.base, { acceptInsecureCerts: true, "webkitgtk:browserOptions": { binary: env("MINIBROWSER"), args: ["--automation"] } });
});
after(async () => {
  await s?.close().catch(() => undefined);
  await driver?.stop();
});

const button = (label) => `const b = [...document.querySelectorAll("button")].find((b) => b.textContent.trim() === ${JSON.stringify(label)}); if (!b) return false; b.click(); return true;`;
const playState = () => s.run(`const p = document.querySelector(".play-state"); return p ? { state: p.dataset.state ?? "", text: p.textContent } : null;`);
async function waitState(want, timeout = 40000) {
  for (let deadline = Date.now() + timeout; ; await new Promise((r) => setTimeout(r, 200))) {
    const p = await playState();
    if (p?.state === want) return p;
    if (p?.state === "broken" || p?.state === "unsupported") assert.fail(`the player: ${p.text}`);
    assert.ok(Date.now() < deadline, `player state ${p?.state}, not ${want}, after ${timeout} ms: ${p?.text}`);
  }
}
const quality = () =>
  s.run(`const v = document.querySelector("video.live"); const q = v.getVideoPlaybackQuality();
    return { t: v.currentTime, frames: q.totalVideoFrames, err: v.error ? v.error.code + " " + v.error.message : null,
      managed: typeof ManagedMediaSource !== "undefined" && v.srcObject instanceof ManagedMediaSource, blob: v.src.startsWith("blob:"), w: v.videoWidth };`);
async function decoded(n, timeout = 45000) {
  const q0 = await quality();
  for (let deadline = Date.now() + timeout; ; await new Promise((r) => setTimeout(r, 250))) {
    const q = await quality();
    if (q.frames >= n && q.t > q0.t + 1) return q;
    assert.ok(Date.now() < deadline, `after ${timeout} ms: ${JSON.stringify(q)} (from ${JSON.stringify(q0)}); player: ${(await playState())?.text}`);
  }
}
async function shot(name) {
  const png = await s.cmd("GET", "/screenshot");
  if (process.env.SHOTS) writeFileSync(join(process.env.SHOTS, name), Buffer.from(png, "base64"));
}

test("WebKitGTK has MediaSource and ManagedMediaSource, and H.264 in both", async () => {
  await s.goto(HUB + "/");
  const got = await s.run(`return { ms: typeof MediaSource, mms: typeof ManagedMediaSource,
    h264: MediaSource.isTypeSupported('video/mp4; codecs="avc1.64001f"'), mh264: ManagedMediaSource.isTypeSupported('video/mp4; codecs="avc1.64001f"'), ua: navigator.userAgent };`);
  assert.equal(got.ms, "function", JSON.stringify(got));
  assert.equal(got.mms, "function", JSON.stringify(got));
  assert.ok(got.h264 && got.mh264, JSON.stringify(got));
  console.log(`# ${s.caps.browserName} ${s.caps.browserVersion}: ${got.ua}`);
});

test("the owner signs in with a wallet in the page", async () => {
  await s.until(`return document.body.dataset.ready === "1";`, "the page ready");
  // The wallet arrives after the page started (WebDriver has no init
  // script): a navigation renders the sign-in again, now with it.
  await s.run(`globalThis.__camchainTestKey = arguments[0]; ${wallet}; location.hash = "#/login-again";`, env("OWNER_KEY"));
  await s.until(button("Sign in with your wallet"), "the sign-in button");
  await s.until(`const h = document.querySelector("h1"); return h && h.textContent === "Cameras";`, "the cameras view", 60000);
});

test("ManagedMediaSource (MediaSource hidden, as on an iPhone): live view verified in the page, frames decoded", async () => {
  await s.run(`location.hash = "#/camera/" + arguments[0];`, CAM);
  await s.until(`return [...document.querySelectorAll("h2")].some((h) => h.textContent === "Watch");`, "the camera page");
  await s.run(`Object.defineProperty(window, "MediaSource", { value: undefined, configurable: true, writable: true }); return true;`);
  await s.until(button("Watch live"), "the Watch live button");
  const st = await waitState("verified");
  assert.match(st.text, /^Verified: \d+ segments? checked in this page/);
  const q = await decoded(25);
  assert.equal(q.err, null);
  assert.ok(q.managed, `the video plays from a ManagedMediaSource: ${JSON.stringify(q)}`);
  await shot("webkit-managed-live.png");
  // A recorded range through the same pipeline.
  await s.until(button("Stop"), "Stop");
  await s.run(`const f = document.getElementById("play-from"); const d = new Date(Date.now() - 20000);
    f.value = new Date(d.getTime() - d.getTimezoneOffset() * 60e3).toISOString().slice(0, 19); return true;`);
  await s.until(button("Play recording"), "Play recording");
  await waitState("verified");
  const r = await decoded(25);
  assert.ok(r.managed && r.err === null, JSON.stringify(r));
});

test("MediaSource (WebKit's own): live view verified in the page, frames decoded", async () => {
  await s.goto(`${HUB}/#/camera/${CAM}`);
  await s.until(`return [...document.querySelectorAll("h2")].some((h) => h.textContent === "Watch");`, "the camera page (the session renewed)");
  await s.until(button("Watch live"), "the Watch live button");
  await waitState("verified");
  const q = await decoded(25);
  assert.ok(!q.managed && q.blob && q.err === null, `the video plays from a MediaSource: ${JSON.stringify(q)}`);
  await shot("webkit-live.png");
});

test("ManagedMediaSource with parts: the live view plays each part as it verifies, unverified part then verified", async () => {
  await s.goto(`${HUB}/#/camera/${env("CAMERA_PARTS")}`);
  await s.until(`return [...document.querySelectorAll("h2")].some((h) => h.textContent === "Watch");`, "the parts camera's page");
  await s.run(`Object.defineProperty(window, "MediaSource", { value: undefined, configurable: true, writable: true });
    const el = document.querySelector(".play-state"); window.__states = [];
    const push = (st) => window.__states[window.__states.length - 1] !== st && window.__states.push(st);
    new MutationObserver((records) => { for (const r of records.slice(1)) push(r.oldValue); push(el.dataset.state); })
      .observe(el, { attributes: true, attributeFilter: ["data-state"], attributeOldValue: true });
    return true;`);
  await s.until(button("Watch live"), "the Watch live button");
  const want = ["unverified-part", "verified", "unverified-part", "verified"];
  for (let deadline = Date.now() + 40000; ; await new Promise((r) => setTimeout(r, 250))) {
    const got = await s.run(`return window.__states;`);
    let i = 0;
    for (const st of got) if (st === want[i]) i++;
    if (i === want.length) break;
    assert.ok(!got.includes("broken") && !got.includes("unsupported"), `the player: ${(await playState())?.text}`);
    assert.ok(Date.now() < deadline, `states shown: ${JSON.stringify(got)}`);
  }
  const q = await decoded(25);
  assert.ok(q.managed && q.err === null, `the video plays parts from a ManagedMediaSource: ${JSON.stringify(q)}`);
  await shot("webkit-managed-parts.png");
});
