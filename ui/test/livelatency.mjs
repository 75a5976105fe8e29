// livelatency.mjs: the web UI's live view in Debian's Chromium, for
// tools/bench's player.live_latency group (player.go). Usage:
//
//   node test/livelatency.mjs HUB_URL OWNER_KEY CAMERA SECONDS
//
// Signs in as the owner (the injected wallet of the browser tests), opens
// the camera page, starts the live view (every segment verified in the
// page before it is appended; with parts, every part), and records for SECONDS every frame the
// video element presents, with requestVideoFrameCallback: its media time
// (seconds) and its presentation time as wall-clock milliseconds
// (performance.timeOrigin + presentationTime: the same clock as the
// agent's, on this machine). The media time is given on the camera's own
// timeline: less the SourceBuffer's timestampOffset, which the player sets
// when the camera's decode times began again (its agent restarted: player.ts keeps one
// media timeline per session). Prints JSON {frames: [[mediaTime, ms], ...],
// dropped, state}.
import { chromium } from "playwright-core";
import { injectWallet, makeWallet } from "./provider.mjs";

const [hub, key, cam, secs] = process.argv.slice(2);
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: ["--no-sandbox", "--autoplay-policy=no-user-gesture-required"] });
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await injectWallet(context, makeWallet(key));
  await context.addInitScript(() => {
    const d = Object.getOwnPropertyDescriptor(SourceBuffer.prototype, "timestampOffset");
    window.__shift = 0;
    Object.defineProperty(SourceBuffer.prototype, "timestampOffset", {
      get() { return d.get.call(this); },
      set(v) { window.__shift = v; d.set.call(this, v); },
    });
  });
  const page = await context.newPage();
  await page.goto(hub + "/");
  await page.waitForSelector("body[data-ready='1']");
  await page.getByRole("button", { name: "Sign in with your wallet" }).click();
  await page.getByRole("heading", { name: "Cameras" }).waitFor();
  await page.goto(`${hub}/#/camera/${cam}`);
  await page.getByRole("heading", { name: "Watch" }).waitFor();
  await page.evaluate(() => {
    const v = document.querySelector("video.live");
    window.__frames = [];
    const on = (_now, m) => {
      window.__frames.push([m.mediaTime - window.__shift, performance.timeOrigin + m.presentationTime]);
      v.requestVideoFrameCallback(on);
    };
    v.requestVideoFrameCallback(on);
  });
  await page.getByRole("button", { name: "Watch live" }).click();
  await page.waitForTimeout(Number(secs) * 1000);
  const out = await page.evaluate(() => ({
    frames: window.__frames,
    dropped: document.querySelector("video.live").getVideoPlaybackQuality().droppedVideoFrames,
    state: document.querySelector(".play-state").dataset.state,
  }));
  process.stdout.write(JSON.stringify(out));
} finally {
  await browser.close();
}
