// verifier.test.mjs: the offline evidence verifier (ui/src/verifier.ts, the
// page of `camchain evidence export --html`) in Debian's Chromium
// (playwright-core), opened from file:// with every request that is not
// the page itself refused. test/e2e TestHTMLVerifierInChromium writes the
// pages and passes, in PAGES, each with what `camchain evidence verify
// --json` said of its bundle: the page must give the same verdict (and on
// a bundle that verifies, the same report, field for field), say it in
// words a stranger reads, and play a verified clip. CHROMIUM: the browser.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { after, before, test } from "node:test";
import { chromium } from "playwright-core";

const pages = JSON.parse(readFileSync(process.env.PAGES ?? "", "utf8"));
let browser, context;
const refused = [];
const errors = [];
before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--autoplay-policy=no-user-gesture-required"],
  });
  context = await browser.newContext({ offline: true });
  await context.route("**/*", (route) => {
    const u = route.request().url();
    if (u.startsWith("file:")) return route.continue();
    refused.push(u);
    return route.abort();
  });
});
after(async () => {
  await browser?.close();
});

for (const p of pages) {
  test(`${p.name}: ${p.expect}`, async () => {
    const page = await context.newPage();
    page.on("pageerror", (e) => errors.push(`${p.name}: ${e.message}`));
    await page.goto(pathToFileURL(p.file).href + (p.fragment ? "#" + p.fragment : ""));
    await page.waitForSelector("body[data-ready='1'][data-verdict]");
    const res = JSON.parse(await page.locator("#result-json").textContent());
    assert.equal(res.kind, p.expect, `the page says ${res.kind} (${res.error}), camchain evidence verify says ${p.expect}`);
    const heading = (await page.locator("#result h2").first().textContent()).trim();
    if (p.expect === "ok") {
      assert.deepEqual(res.report, p.report, "the page's report is not the CLI's");
      assert.ok((await page.locator("#result p").first().textContent()).includes(`${p.report.stream} stream`), "the report does not name the stream");
      assert.equal(heading, p.pinned ? "VERIFIED" : "SELF-CONSISTENT ONLY, NOT VERIFIED AGAINST THE LEDGER");
      const proven = await page.locator("#proven li").allTextContents();
      assert.ok(proven.some((s) => s.includes(p.report.camera)), "the report does not name the camera that signed");
      const not = await page.locator("#not-proven li").allTextContents();
      if (!p.pinned) assert.ok(not.some((s) => s.includes("is the ledger's")), "an unpinned bundle does not say what is not proven");
    } else {
      assert.equal(heading, "NOT VERIFIED");
      assert.ok((await page.getByRole("alert").textContent()).length > 10, "no reason shown");
    }
    if (p.play) {
      await page.locator("button[data-clip='0']").click();
      await page.waitForFunction(() => {
        const v = document.querySelector("#player video");
        return v && v.readyState >= 2 && v.videoWidth > 0 && v.currentTime > 0;
      }, null, { timeout: 20000 });
      const w = await page.evaluate(() => document.querySelector("#player video").videoWidth);
      assert.equal(w, 640, "the verified clip did not decode as the 640×360 sample");
    }
    await page.close();
  });
}

test("nothing was fetched, no script error", () => {
  assert.deepEqual(refused, [], "the page tried to reach the network");
  assert.deepEqual(errors, []);
});
