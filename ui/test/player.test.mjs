// player.test.mjs: the verified player in Debian's Chromium (playwright-core)
// against a real hub and a real camera that test/e2e TestVerifiedPlayer
// starts and passes in the environment:
//
//   HUB_URL        the hub's origin
//   OWNER_KEY      the owner's private key; VIEWER_KEY a viewer's, granted
//                  with history from HISTORY_FROM (RFC 3339)
//   CAMERA         the camera, recording the built-in sample
//   CAMERA_RTSP    a camera over RTSP: H.264 + AAC main stream, H.265 + Opus sub
//   CAMERA_SUB     a camera over RTSP with an H.264 sub stream
//   SEGMENTS_DIR   the hub's segment files of the camera (the test alters one)
//   CAMCHAIN, OWNER_KEYSTORE, OWNER_PASSFILE: the CLI and the owner's wallet
//   SHOTS          where to write screenshots; CHROMIUM the browser
//
// Every segment the page plays went through its own verifier first
// (ui/src/viewchain.ts); these tests look at what a person sees.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, before, test } from "node:test";
import { chromium } from "playwright-core";
import { injectWallet, makeWallet } from "./provider.mjs";

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set (test/e2e TestVerifiedPlayer runs this file)`);
  return v;
};
const HUB = env("HUB_URL");
const CAM = env("CAMERA");
const owner = makeWallet(env("OWNER_KEY"));
const viewer = makeWallet(env("VIEWER_KEY"));
const HISTORY_FROM = new Date(env("HISTORY_FROM"));

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

async function signedIn(wallet, cam = CAM) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await injectWallet(context, wallet);
  const page = await context.newPage();
  page.on("pageerror", (e) => console.error("page error:", e.message));
  await page.goto(HUB + "/");
  await page.waitForSelector("body[data-ready='1']");
  await page.getByRole("button", { name: "Sign in with your wallet" }).click();
  await page.getByRole("heading", { name: "Cameras" }).waitFor();
  if (!cam) return page;
  await page.goto(`${HUB}/#/camera/${cam}`);
  await page.getByRole("heading", { name: "Watch" }).waitFor();
  return page;
}

const state = (page) => page.locator(".play-state").getAttribute("data-state");
async function waitState(page, want, timeout = 30000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const s = await state(page);
    if (s === want) return;
    if (s === "broken" && want !== "broken") assert.fail(`the player broke: ${await page.locator(".play-state").innerText()}`);
    assert.ok(Date.now() < deadline, `player state ${s}, not ${want}, after ${timeout} ms: ${await page.locator(".play-state").innerText()}`);
    await page.waitForTimeout(100);
  }
}
const quality = (page) =>
  page.evaluate(() => {
    const v = document.querySelector("video.live");
    const q = v.getVideoPlaybackQuality();
    return { t: v.currentTime, frames: q.totalVideoFrames, dropped: q.droppedVideoFrames, paused: v.paused, err: v.error?.message ?? null, end: v.buffered.length ? v.buffered.end(v.buffered.length - 1) : 0 };
  });
/** decoded waits until the video element decoded at least n frames and its time advanced. */
async function decoded(page, n, timeout = 45000) {
  const q0 = await quality(page);
  const deadline = Date.now() + timeout;
  for (;;) {
    const q = await quality(page);
    if (q.frames >= n && q.t > q0.t + 1) return q;
    assert.ok(Date.now() < deadline, `after ${timeout} ms: ${JSON.stringify(q)} (started at ${JSON.stringify(q0)}); player: ${await page.locator(".play-state").innerText()}`);
    await page.waitForTimeout(250);
  }
}
const local = (d) => new Date(d.getTime() - d.getTimezoneOffset() * 60e3).toISOString().slice(0, 19);
const cli = (...args) => promisify(execFile)(env("CAMCHAIN"), [...args, "--hub", HUB, "--keystore", env("OWNER_KEYSTORE"), "--passphrase-file", env("OWNER_PASSFILE")]);

let ownerPage;

test("live view plays, frames decoded and time advancing, and shows verified", async () => {
  ownerPage = await signedIn(owner);
  await ownerPage.getByRole("button", { name: "Watch live" }).click();
  await waitState(ownerPage, "verified");
  const q = await decoded(ownerPage, 25);
  assert.equal(q.err, null);
  assert.match(await ownerPage.locator(".play-state").innerText(), /^Verified: \d+ segments? checked in this page/);
  await ownerPage.screenshot({ path: join(env("SHOTS"), "live-desktop.png"), fullPage: true });
});

test("the camera grid plays every camera live in a tile, from its sub stream where it has one, verified in the page", async () => {
  const sockets = [];
  const page = await signedIn(owner, null);
  page.on("websocket", (ws) => sockets.push(ws.url()));
  await page.reload(); // the tiles' sockets, now observed
  await page.waitForSelector("body[data-ready='1']");
  const tile = (cam) => page.locator(`li[data-camera="${cam}"] .tile-state`);
  const tileState = async (cam, want, timeout = 40000) => {
    const deadline = Date.now() + timeout;
    for (;;) {
      const s = await tile(cam).getAttribute("data-state");
      if (s === want) return;
      assert.ok(Date.now() < deadline, `tile of ${cam}: ${s}, not ${want}: ${await tile(cam).innerText()}`);
      await page.waitForTimeout(200);
    }
  };
  const SUB = env("CAMERA_SUB");
  await tileState(SUB, "verified");
  assert.equal(await tile(SUB).getAttribute("data-stream"), "sub");
  await tileState(CAM, "verified");
  assert.equal(await tile(CAM).getAttribute("data-stream"), "main", "the built-in sample has no sub stream: its tile plays main");
  await tileState(env("CAMERA_RTSP"), "unsupported");
  assert.equal(await tile(env("CAMERA_RTSP")).getAttribute("data-stream"), "sub");
  assert.match(await tile(env("CAMERA_RTSP")).innerText(), /H\.265: this browser cannot decode it/);
  // The sub stream's tile decodes frames and its time advances.
  const q = () => page.evaluate((c) => {
    const v = document.querySelector(`li[data-camera="${c}"] video.tile`);
    return { t: v.currentTime, frames: v.getVideoPlaybackQuality().totalVideoFrames, w: v.videoWidth };
  }, SUB);
  const q0 = await q();
  await page.waitForFunction((c) => {
    const v = document.querySelector(`li[data-camera="${c}"] video.tile`);
    return v.getVideoPlaybackQuality().totalVideoFrames >= 25;
  }, SUB, { timeout: 30000 });
  const q1 = await q();
  assert.ok(q1.t > q0.t || q1.frames > q0.frames, `tile did not advance: ${JSON.stringify([q0, q1])}`);
  assert.equal(q1.w, 160, "the tile shows the 160x90 sub stream");
  const subSocket = sockets.find((u) => u.includes(`/devices/${SUB}/play?`));
  assert.match(subSocket ?? "", /[?&]stream=sub(&|$)/, `the sub tile's socket: ${sockets}`);
  await page.screenshot({ path: join(env("SHOTS"), "grid-desktop.png"), fullPage: true });
  await page.context().close();
});

test("recorded playback of a range plays to its signed end", async () => {
  const page = ownerPage;
  await page.getByRole("button", { name: "Stop" }).click();
  const to = new Date(Date.now() - 4000);
  await page.getByLabel("Recording from").fill(local(new Date(to.getTime() - 12000)));
  await page.getByLabel("Until (empty: on to live)").fill(local(to));
  await page.getByRole("button", { name: "Play recording" }).click();
  await waitState(page, "ended", 30000);
  assert.match(await page.locator(".play-state").innerText(), /End of the range: \d+ segments, all verified/);
  const q = await decoded(page, 25);
  assert.equal(q.err, null);
  // Seek back inside what was played: it plays from there.
  await page.evaluate(() => {
    const v = document.querySelector("video.live");
    v.currentTime = v.buffered.start(0) + 1;
    return v.play();
  });
  await page.waitForFunction(() => {
    const v = document.querySelector("video.live");
    return !v.seeking && v.currentTime > v.buffered.start(0) + 1.5;
  }, null, { timeout: 10000 });
});

test("a viewer granted with history-from gets nothing recorded before it", async () => {
  const page = await signedIn(viewer);
  await page.getByLabel("Recording from").fill(local(new Date(HISTORY_FROM.getTime() - 60000)));
  await page.getByRole("button", { name: "Play recording" }).click();
  await waitState(page, "verified");
  const first = Number(await page.locator(".play-state").getAttribute("data-first"));
  assert.ok(first >= HISTORY_FROM.getTime() - 1, `first segment starts ${new Date(first).toISOString()}, before history-from ${HISTORY_FROM.toISOString()}`);
  await page.context().close();
});

/** proxied opens the camera page with a proxy between the page and the
 * hub's playback socket: the hub's text messages pass, each binary frame
 * (one segment, its record and its viewer-chain link) goes through
 * tamper(frame, index, send). */
async function proxied(tamper) {
  const page = await signedIn(owner);
  await page.routeWebSocket(/\/api\/v1\/devices\/[^/]+\/play\?/, (ws) => {
    const hub = ws.connectToServer();
    let n = 0;
    ws.onMessage((m) => hub.send(m));
    hub.onMessage((m) => (typeof m === "string" ? ws.send(m) : tamper(m, n++, (x) => ws.send(x))));
  });
  return page;
}
/** The segment bytes of a frame start after its record and link (SPEC §15.3). */
const LINK_SIZE = 219;
const payloadAt = (f) => 3 + ((f[1] << 8) | f[2]) + LINK_SIZE;
const buffered = (page) =>
  page.evaluate(() => {
    const b = document.querySelector("video.live").buffered;
    let s = 0;
    for (let i = 0; i < b.length; i++) s += b.end(i) - b.start(i);
    return s;
  });

test("a proxy that drops or swaps segments: the player stops with the right verdict and keeps all it showed verified", async () => {
  const cases = [
    // live: the second segment never arrives
    { name: "live, one segment dropped", live: true, brk: "missing", kept: 1, tamper: (f, i, send) => i !== 1 && send(f) },
    // recorded: segments 3 and 4 swap places
    { name: "recorded, two segments swapped", brk: "missing", kept: 3, tamper: (f, i, send, held) => (i === 3 ? held.push(f) : (send(f), i === 4 && send(held.pop()))) },
    // recorded: segment 3's bytes are segment 4's, its record and link kept
    {
      name: "recorded, a segment's bytes swapped for the next one's",
      brk: "altered",
      kept: 3,
      tamper: (f, i, send, held) => {
        if (i === 3) return held.push(f);
        if (i === 4) {
          const h = held.pop();
          send(Buffer.concat([h.subarray(0, payloadAt(h)), f.subarray(payloadAt(f))]));
        }
        send(f);
      },
    },
  ];
  await Promise.all(
    cases.map(async (c) => {
      const held = [];
      const page = await proxied((f, i, send) => c.tamper(f, i, send, held));
      if (c.live) await page.getByRole("button", { name: "Watch live" }).click();
      else {
        const to = new Date(Date.now() - 4000);
        await page.getByLabel("Recording from").fill(local(new Date(to.getTime() - 30000)));
        await page.getByLabel("Until (empty: on to live)").fill(local(to));
        await page.getByRole("button", { name: "Play recording" }).click();
      }
      await waitState(page, "broken", 40000);
      const st = page.locator(".play-state");
      assert.equal(await st.getAttribute("data-brk"), c.brk, `${c.name}: ${await st.innerText()}`);
      assert.equal(Number(await st.getAttribute("data-segments")), c.kept, `${c.name}: segments verified before the break`);
      assert.match(await st.innerText(), new RegExp(`^Broken: playback stopped\\. .*The ${c.kept} segments? verified before the break`));
      // Nothing verified is lost: every verified segment's signed duration is in the buffer.
      const secs = Number(await st.getAttribute("data-seconds"));
      const have = await buffered(page);
      assert.ok(secs > 0 && have >= secs - 0.1 * c.kept, `${c.name}: ${have.toFixed(2)} s buffered of the ${secs} s verified`);
      assert.ok((await quality(page)).paused, `${c.name}: the video is paused on the break`);
      await page.waitForTimeout(1000);
      assert.equal(await buffered(page), have, `${c.name}: nothing appended after the break`);
      await page.context().close();
    }),
  );
});

test("a segment altered on the hub's disk shows broken, and playback stops", async () => {
  const page = ownerPage;
  await page.getByRole("button", { name: "Stop" }).click();
  const dir = env("SEGMENTS_DIR");
  const files = readdirSync(dir).filter((n) => n.endsWith(".mp4")).sort();
  assert.ok(files.length >= 4, `segments on the hub: ${files}`);
  const victim = join(dir, files[1]);
  const b = readFileSync(victim);
  b[b.length - 100] ^= 0x01; // one bit of the media data
  writeFileSync(victim, b);
  assert.equal(statSync(victim).size, b.length);
  await page.getByLabel("Recording from").fill(local(new Date(Date.now() - 3600e3))); // from the first segment
  await page.getByLabel("Until (empty: on to live)").fill("");
  await page.getByRole("button", { name: "Play recording" }).click();
  await waitState(page, "broken", 30000);
  const text = await page.locator(".play-state").innerText();
  assert.match(text, /^Broken: playback stopped\. .*altered/);
  const q1 = await quality(page);
  assert.ok(q1.paused, "the video is paused on a broken chain");
  await page.waitForTimeout(3000);
  const q2 = await quality(page);
  assert.equal(q2.end, q1.end, "nothing more was appended after the break");
  await page.screenshot({ path: join(env("SHOTS"), "player-broken-desktop.png"), fullPage: true });
});

test("after a revoke the viewer's live view closes within 2 s", async () => {
  const page = await signedIn(viewer);
  await page.getByRole("button", { name: "Watch live" }).click();
  await waitState(page, "verified");
  await cli("revoke", "--camera", CAM, "--viewer", viewer.state.address);
  const committed = Date.now();
  await waitState(page, "closed", 10000);
  const took = Date.now() - committed;
  assert.ok(took <= 2000, `closed ${took} ms after the revoke committed`);
  assert.match(await page.locator(".play-state").innerText(), /The hub closed the stream \(4403\)/);
});

test("an RTSP camera: its H.264 main stream with audio plays; its H.265 sub stream is refused plainly", async () => {
  const page = await signedIn(owner, env("CAMERA_RTSP"));
  await page.getByLabel("Stream").selectOption("main");
  await page.getByRole("button", { name: "Watch live" }).click();
  await waitState(page, "verified", 40000);
  await decoded(page, 25);
  assert.match(await page.locator(".play-state").getAttribute("data-codec"), /^avc1\.[0-9a-fA-F]{6},mp4a\.40\.2$/, "H.264 with AAC audio");
  await page.getByRole("button", { name: "Stop" }).click();
  // A paused element may still finish decoding a frame already in its
  // pipeline: count from when the count stands still.
  let framesBefore = (await quality(page)).frames;
  for (let i = 0; i < 40; i++) {
    await page.waitForTimeout(250);
    const f = (await quality(page)).frames;
    if (f === framesBefore) break;
    framesBefore = f;
  }
  await page.getByLabel("Stream").selectOption("sub");
  await page.getByRole("button", { name: "Watch live" }).click();
  await waitState(page, "unsupported", 40000);
  assert.match(await page.locator(".play-state").innerText(), /^This browser cannot decode H\.265 \(hvc1\.[^)]*\): nothing is shown rather than a black box\. Download/);
  assert.ok((await quality(page)).frames <= framesBefore, "nothing of the H.265 stream was decoded");
  await page.screenshot({ path: join(env("SHOTS"), "player-h265-desktop.png"), fullPage: true });
  await page.context().close();
});
