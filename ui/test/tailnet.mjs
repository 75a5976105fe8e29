// tailnet.mjs: the web UI from a phone that is not on the hub's network,
// for test/e2e TestRemoteViewerOverTailnet. Usage:
//
//   node test/tailnet.mjs ORIGIN PROXY SPKI OWNER_KEY CAMERA
//
// Debian's Chromium reaches the hub's tailnet origin (https://100.x.y.z)
// only through PROXY, an HTTP CONNECT proxy into the "phone" tailnet node
// (the test's own, reaching the hub through headscale's DERP relay). The
// hub's certificate is its own (headscale issues none): Chromium takes it
// only by its public key's pin (--ignore-certificate-errors-spki-list, the
// browser's way to pin what the CLI pins with --hub-fingerprint). Signs in
// with the owner's wallet (the injected wallet of the browser tests),
// opens the camera's live view and waits until it plays verified video.
// A browser pinning another key does not open the page at all. Prints JSON
// {frames, state, wrongPin}.
import { chromium } from "playwright-core";
import { injectWallet, makeWallet } from "./provider.mjs";

const [origin, proxy, spki, key, cam] = process.argv.slice(2);
const launch = (pin) =>
  chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--autoplay-policy=no-user-gesture-required", `--ignore-certificate-errors-spki-list=${pin}`],
    proxy: { server: proxy },
  });

const out = {};
// Another pin: the hub's certificate is refused, nothing loads.
{
  const browser = await launch("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
  try {
    const page = await (await browser.newContext()).newPage();
    out.wrongPin = await page.goto(origin + "/").then(
      () => "loaded",
      (e) => e.message.split("\n")[0],
    );
  } finally {
    await browser.close();
  }
}
const browser = await launch(spki);
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await injectWallet(context, makeWallet(key));
  const page = await context.newPage();
  page.on("pageerror", (e) => console.error("page error:", e.message));
  await page.goto(origin + "/");
  await page.waitForSelector("body[data-ready='1']");
  await page.getByRole("button", { name: "Sign in with your wallet" }).click();
  await page.getByRole("heading", { name: "Cameras" }).waitFor();
  await page.goto(`${origin}/#/camera/${cam}`);
  await page.getByRole("heading", { name: "Watch" }).waitFor();
  await page.getByRole("button", { name: "Watch live" }).click();
  const deadline = Date.now() + 60000;
  for (;;) {
    const s = await page.evaluate(() => {
      const v = document.querySelector("video.live");
      return { state: document.querySelector(".play-state")?.dataset.state, frames: v.getVideoPlaybackQuality().totalVideoFrames, t: v.currentTime };
    });
    Object.assign(out, s);
    if (s.state === "broken" || (s.state === "verified" && s.frames >= 25 && s.t > 1) || Date.now() > deadline) break;
    await page.waitForTimeout(200);
  }
  out.text = await page.locator(".play-state").innerText();
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(out));
