// verifybench.mjs: times the offline evidence verifier page (the page of
// `camchain evidence export --html`) in Debian's Chromium, opened from
// file:// with the network off, for tools/bench's evidence.html group.
//
//   node test/verifybench.mjs PAGE PIN RUNS
//
// Prints JSON: for each run (a fresh page) the time from navigation to the
// verdict (load, base64 decode and verification) and the verification
// alone as the page measures it, and the verdict.
import { pathToFileURL } from "node:url";
import { chromium } from "playwright-core";

const [page, pin, runs] = process.argv.slice(2);
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: ["--no-sandbox"] });
const context = await browser.newContext({ offline: true });
const out = { totalMs: [], verifyMs: [], verdict: "" };
try {
  for (let i = 0; i < Number(runs || 3); i++) {
    const p = await context.newPage();
    await p.goto(pathToFileURL(page).href + "#pin=" + pin, { timeout: 300000 });
    await p.waitForSelector("body[data-verdict]", { timeout: 300000 });
    const r = await p.evaluate(() => ({ total: performance.now(), verify: Number(document.body.dataset.verifyMs), verdict: document.body.dataset.verdict }));
    out.totalMs.push(r.total);
    out.verifyMs.push(r.verify);
    out.verdict = r.verdict;
    await p.close();
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
