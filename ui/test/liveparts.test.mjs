// liveparts.test.mjs: the web UI's live view with parts (SPEC §7.3, §15.5)
// in Debian's Chromium (playwright-core), against a real hub and a real RTSP
// camera whose agent streams 200 ms parts, which test/e2e
// TestVerifiedPlayerParts starts and passes in the environment:
//
//   HUB_URL    the hub's origin
//   OWNER_KEY  the owner's private key
//   CAMERA     the camera (its agent runs with --parts 200ms)
//   CHROMIUM   the browser
//
// The page checks every part (ui/src/viewchain.ts) before it appends it,
// says "unverified part" until the segment's record binds the parts, then
// "verified"; these tests look at what a person sees and at the video
// element, and attack from outside: a proxy between the page and the hub.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { chromium } from "playwright-core";
import { injectWallet, makeWallet } from "./provider.mjs";

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set (test/e2e TestVerifiedPlayerParts runs this file)`);
  return v;
};
const HUB = env("HUB_URL");
const CAM = env("CAMERA");
const owner = makeWallet(env("OWNER_KEY"));

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

/** signedIn opens the camera page as the owner; with proxy, the playback
 * socket goes through proxy(frame, send), which may pass, drop, alter or
 * add binary frames (the hub's text messages pass). */
async function signedIn(proxy) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await injectWallet(context, owner);
  const page = await context.newPage();
  page.on("pageerror", (e) => console.error("page error:", e.message));
  const sockets = [];
  page.on("websocket", (ws) => sockets.push(ws.url()));
  if (proxy) {
    await page.routeWebSocket(/\/api\/v1\/devices\/[^/]+\/play\?/, (ws) => {
      const hub = ws.connectToServer();
      ws.onMessage((m) => hub.send(m));
      hub.onMessage((m) => (typeof m === "string" ? ws.send(m) : proxy(m, (x) => ws.send(x))));
    });
  }
  await page.goto(HUB + "/");
  await page.waitForSelector("body[data-ready='1']");
  await page.getByRole("button", { name: "Sign in with your wallet" }).click();
  await page.getByRole("heading", { name: "Cameras" }).waitFor();
  await page.goto(`${HUB}/#/camera/${CAM}`);
  await page.getByRole("heading", { name: "Watch" }).waitFor();
  // Every state the player shows, in order, with its text. One callback
  // may bring several changes (a burst of parts on a loaded machine): each
  // record's old value is the state before it, the element's the last;
  // only the last one's text is still there to read ("" for the others).
  await page.evaluate(() => {
    const el = document.querySelector(".play-state");
    window.__states = [];
    window.__texts = [];
    const push = (s, text) => {
      if (window.__states[window.__states.length - 1] !== s) {
        window.__states.push(s);
        window.__texts.push(text);
      }
    };
    new MutationObserver((records) => {
      for (const r of records.slice(1)) push(r.oldValue, "");
      push(el.dataset.state, el.innerText);
    }).observe(el, { attributes: true, attributeFilter: ["data-state"], attributeOldValue: true });
  });
  return { page, sockets };
}

const states = (page) => page.evaluate(() => window.__states);
const state = (page) => page.locator(".play-state").getAttribute("data-state");
async function waitState(page, want, timeout = 40000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const s = await state(page);
    if (s === want) return;
    if (s === "broken" && want !== "broken") assert.fail(`the player broke: ${await page.locator(".play-state").innerText()}`);
    assert.ok(Date.now() < deadline, `player state ${s}, not ${want}, after ${timeout} ms: ${await page.locator(".play-state").innerText()}`);
    await page.waitForTimeout(50);
  }
}
const quality = (page) =>
  page.evaluate(() => {
    const v = document.querySelector("video.live");
    const q = v.getVideoPlaybackQuality();
    const b = v.buffered;
    let secs = 0;
    for (let i = 0; i < b.length; i++) secs += b.end(i) - b.start(i);
    return { t: v.currentTime, frames: q.totalVideoFrames, paused: v.paused, err: v.error?.message ?? null, end: b.length ? b.end(b.length - 1) : 0, secs };
  });

/** A subsequence test: want appears in got in order, not necessarily next to each other. */
const inOrder = (got, want) => {
  let i = 0;
  for (const s of got) if (s === want[i]) i++;
  return i === want.length;
};

test("live view with parts: each part plays as it verifies, unverified until its record binds it, then verified, at the live edge", async () => {
  const { page, sockets } = await signedIn();
  await page.getByRole("button", { name: "Watch live" }).click();
  await waitState(page, "unverified-part");
  assert.match(sockets.find((u) => u.includes("/play?")) ?? "", /[?&]parts=1(&|$)/, `the live view's socket asks for parts: ${sockets}`);
  const text = await page.evaluate(() => window.__texts.find((t, i) => t && window.__states[i] === "unverified-part"));
  assert.match(text, /^Unverified part: playing \d+ parts? of record #\d+, each signed by the camera and checked in this page, not yet bound into the chain/);
  // Parts of one segment, its record binding them, and the next segment's parts: twice.
  const deadline = Date.now() + 30000;
  for (;;) {
    const got = await states(page);
    if (inOrder(got, ["unverified-part", "verified", "unverified-part", "verified", "unverified-part"])) break;
    assert.ok(Date.now() < deadline, `states shown: ${JSON.stringify(got)}`);
    await page.waitForTimeout(200);
  }
  assert.ok(!(await states(page)).includes("broken"));
  assert.ok(Number(await page.locator(".play-state").getAttribute("data-segments")) >= 1);
  // Frames decoded and time advancing, with no error.
  const q0 = await quality(page);
  await page.waitForFunction((f) => document.querySelector("video.live").getVideoPlaybackQuality().totalVideoFrames >= f + 50, q0.frames, { timeout: 30000 });
  const q1 = await quality(page);
  assert.equal(q1.err, null);
  assert.ok(q1.t > q0.t + 1, `time did not advance: ${JSON.stringify([q0, q1])}`);
  // The live edge: playback stays within a second of the newest part (the
  // player jumps back to 0.3 s behind it when it falls 0.8 s behind).
  const behind = [];
  for (let i = 0; i < 20; i++) {
    const q = await quality(page);
    behind.push(q.end - q.t);
    await page.waitForTimeout(150);
  }
  behind.sort((a, b) => a - b);
  assert.ok(behind[10] < 1, `playback behind the buffered end, sorted: ${behind.map((b) => b.toFixed(2))}`);
  await page.context().close();
});

// The frame layouts (SPEC §15.3): a part frame is 0x03 ‖ statement ‖ link ‖
// bytes; a tail 0x04 ‖ u16be recordLen ‖ record ‖ link ‖ rest.
const PART = 3,
  TAIL = 4;

test("a proxy that alters a part, lengthens a tail or drops a part: broken, named, playback stops, and the parts no record bound are taken out", async () => {
  const cases = [
    // the third part of the session: its last byte (the part's bytes) flipped
    { name: "one part's bytes altered", brk: "altered", tamper: (k) => (f, send) => (f[0] === PART && k.parts++ === 2 ? send(Buffer.concat([f.subarray(0, f.length - 1), Buffer.of(f[f.length - 1] ^ 1)])) : send(f)) },
    // the first tail: one byte more than its record binds after the parts played
    { name: "a tail with a byte its record does not bind", brk: "altered", afterParts: true, tamper: (k) => (f, send) => {
        if (f[0] === PART && k.tails === 0) k.parts++;
        send(f[0] === TAIL && k.tails++ === 0 ? Buffer.concat([f, Buffer.of(0)]) : f);
      },
    },
    // the third part never arrives
    { name: "one part dropped", brk: "missing", tamper: (k) => (f, send) => (f[0] === PART && k.parts++ === 2 ? undefined : send(f)) },
  ];
  await Promise.all(
    cases.map(async (c) => {
      const k = { parts: 0, tails: 0 };
      const { page } = await signedIn(c.tamper(k));
      await page.getByRole("button", { name: "Watch live" }).click();
      await waitState(page, "broken", 40000);
      const st = page.locator(".play-state");
      assert.equal(await st.getAttribute("data-brk"), c.brk, `${c.name}: ${await st.innerText()}`);
      assert.match(await st.innerText(), /^Broken: playback stopped\./, c.name);
      const shown = await states(page);
      assert.ok(shown.includes("unverified-part"), `${c.name}: parts were played before the break: ${JSON.stringify(shown)}`);
      if (c.afterParts) assert.ok(k.tails === 1 && k.parts > 0, `${c.name}: the tail altered came after ${k.parts} parts`);
      // Stopped: paused, and nothing appended after the break.
      const q1 = await quality(page);
      assert.ok(q1.paused, `${c.name}: the video is paused on the break`);
      // The buffer holds what records bound, not the parts they did not.
      const secs = Number(await st.getAttribute("data-seconds"));
      assert.ok(q1.secs <= secs + 0.25, `${c.name}: ${q1.secs.toFixed(2)} s buffered, but only ${secs} s were bound by their records`);
      await page.waitForTimeout(1500);
      const q2 = await quality(page);
      assert.equal(q2.end, q1.end, `${c.name}: nothing appended after the break`);
      assert.equal(await state(page), "broken", `${c.name}: it stays broken`);
      await page.context().close();
    }),
  );
});
