// build.mjs: builds camchain's web UI into ../internal/webui/dist (or the
// directory given with --out), which camchaind embeds with go:embed.
//
// The output is deterministic (same sources and toolchain, same bytes), so
// a test can rebuild into a temporary directory and compare with the
// committed build (internal/webui TestCommittedBuildIsFresh). Type checking
// is `npm run check` (tsc --noEmit), run by `make ui`.
//
// Files: index.html (names the hashed assets), app-<hash>.js,
// app-<hash>.css. Nothing is loaded from anywhere else.
import { build } from "esbuild";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const argOut = process.argv.indexOf("--out");
const out = argOut > 0 ? process.argv[argOut + 1] : join(here, "..", "internal", "webui", "dist");

const res = await build({
  entryPoints: [join(here, "src", "main.ts"), join(here, "src", "style.css")],
  bundle: true,
  minify: true,
  format: "esm",
  target: ["es2022", "chrome111", "firefox115", "safari16"],
  legalComments: "none",
  charset: "utf8",
  write: false,
  outdir: "/out",
  logLevel: "warning",
});

const short = (b) => createHash("sha256").update(b).digest("hex").slice(0, 12);
const files = {};
for (const f of res.outputFiles) {
  const ext = f.path.endsWith(".css") ? "css" : "js";
  files[ext] = { name: `app-${short(f.contents)}.${ext}`, bytes: f.contents };
}

let html = readFileSync(join(here, "src", "index.html"), "utf8");
html = html.replace("{{CSS}}", "/" + files.css.name).replace("{{JS}}", "/" + files.js.name);

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
writeFileSync(join(out, "index.html"), html);
for (const f of Object.values(files)) writeFileSync(join(out, f.name), f.bytes);
for (const n of readdirSync(out).sort()) console.log(n);
