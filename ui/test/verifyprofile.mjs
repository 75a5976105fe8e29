// verifyprofile.mjs: where the offline verifier page's time goes, for
// tools/bench's evidence.html group: the navigation timing of one fresh
// page (file://, offline) and a CDP CPU profile from navigation to verdict,
// as self time by function (share of the sampled time).
//
//   node test/verifyprofile.mjs PAGE PIN [TOP]
import { pathToFileURL } from "node:url";
import { chromium } from "playwright-core";

const [page, pin, top] = process.argv.slice(2);
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: ["--no-sandbox"] });
try {
  const context = await browser.newContext({ offline: true });
  const p = await context.newPage();
  await p.goto("file:///dev/null");
  const cdp = await context.newCDPSession(p);
  await cdp.send("Profiler.enable");
  await cdp.send("Profiler.setSamplingInterval", { interval: 500 });
  await cdp.send("Profiler.start");
  await p.goto(pathToFileURL(page).href + "#pin=" + pin, { timeout: 300000, waitUntil: "commit" });
  await p.waitForSelector("body[data-verdict]", { timeout: 300000 });
  const { profile } = await cdp.send("Profiler.stop");
  const t = await p.evaluate(() => {
    const n = performance.getEntriesByType("navigation")[0];
    return { responseEnd: n.responseEnd, domInteractive: n.domInteractive, domContentLoaded: n.domContentLoadedEventEnd, verdictAt: performance.now(), verifyMs: Number(document.body.dataset.verifyMs), verdict: document.body.dataset.verdict };
  });
  const self = new Map();
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const dt = profile.timeDeltas;
  let total = 0;
  profile.samples.forEach((id, i) => {
    const n = byId.get(id);
    const f = n.callFrame;
    const key = `${f.functionName || "(anon)"} ${f.url ? f.url.split("/").pop().slice(0, 20) : ""}:${f.lineNumber}:${f.columnNumber}`;
    const d = dt[i + 1] ?? 0;
    total += d;
    self.set(key, (self.get(key) ?? 0) + d);
  });
  const rows = [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(top || 25));
  console.log(JSON.stringify(t));
  console.log(`sampled ${(total / 1000).toFixed(0)} ms`);
  for (const [k, v] of rows) console.log(`${(v / 1000).toFixed(0).padStart(6)} ms ${((100 * v) / total).toFixed(1).padStart(5)} %  ${k}`);
} finally {
  await browser.close();
}
