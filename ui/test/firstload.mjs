// firstload.mjs: the web UI's first load in Debian's Chromium, for
// `make bench` (tools/bench ui.go). Usage: node test/firstload.mjs HUB_URL RUNS
//
// Each run is a fresh browser context (cold cache) loading HUB_URL/:
//   ui    — the page as users get it: bytes transferred (compressed, as the
//           Resource Timing API counts them: headers and bodies of the
//           document and every file it loads) and the time from navigation
//           start until the app is interactive (the sign-in view rendered
//           after its first API call; the app's "camchain-interactive" mark);
//   html  — the baseline: the same navigation with the script and the
//           stylesheet blocked, so only the HTML page is transferred; its
//           time is DOMContentLoaded.
// Prints JSON {ui: {bytes: [...], ms: [...]}, html: {...}}.
import { chromium } from "playwright-core";

const [hub, runsArg] = process.argv.slice(2);
const runs = Number(runsArg || 5);
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: ["--no-sandbox"] });
const out = { ui: { bytes: [], ms: [] }, html: { bytes: [], ms: [] } };

const transferred = () =>
  performance.getEntriesByType("navigation").concat(performance.getEntriesByType("resource")).reduce((n, e) => n + e.transferSize, 0);

try {
  for (let i = 0; i < runs; i++) {
    for (const kind of ["html", "ui"]) {
      const context = await browser.newContext();
      const page = await context.newPage();
      if (kind === "html") await page.route(/\.(js|css)$/, (r) => r.abort());
      await page.goto(hub + "/", { waitUntil: kind === "html" ? "domcontentloaded" : "load" });
      let ms;
      if (kind === "ui") {
        await page.waitForSelector("body[data-ready='1']");
        ms = await page.evaluate(() => performance.getEntriesByName("camchain-interactive")[0].startTime);
      } else {
        ms = await page.evaluate(() => performance.getEntriesByType("navigation")[0].domContentLoadedEventEnd);
      }
      const bytes = await page.evaluate(transferred);
      out[kind].bytes.push(bytes);
      out[kind].ms.push(ms);
      await context.close();
    }
  }
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(out));
