// build.mjs: builds camchain's web UI into ../internal/webui/dist (or the
// directory given with --out), which camchaind embeds with go:embed.
//
// The output is deterministic (same sources and toolchain, same bytes), so
// a test can rebuild into a temporary directory and compare with the
// committed build (internal/webui TestCommittedBuildIsFresh). Type checking
// is `npm run check` (tsc --noEmit), run by `make ui`.
//
// Files: index.html (names the hashed assets), app-<hash>.js,
// app-<hash>.css, and chunk-<hash>.js files the app imports on demand (the
// QR scanner). Nothing is loaded from anywhere else.
import { build } from "esbuild";
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const argOut = process.argv.indexOf("--out");
const out = argOut > 0 ? process.argv[argOut + 1] : join(here, "..", "internal", "webui", "dist");

const res = await build({
  entryPoints: [join(here, "src", "main.ts"), join(here, "src", "style.css")],
  bundle: true,
  splitting: true, // the QR scanner (jsQR) loads only when the user scans
  minify: true,
  format: "esm",
  target: ["es2022", "chrome111", "firefox115", "safari16"],
  legalComments: "none",
  charset: "utf8",
  write: false,
  outdir: "/out",
  entryNames: "app-[hash]",
  chunkNames: "chunk-[hash]",
  metafile: true,
  logLevel: "warning",
});

const files = {};
const chunks = [];
for (const f of res.outputFiles) {
  const name = f.path.slice("/out/".length);
  const meta = res.metafile.outputs["../out/" + name] ?? res.metafile.outputs[Object.keys(res.metafile.outputs).find((k) => k.endsWith("/" + name))];
  const entry = meta?.entryPoint ?? "";
  if (entry.endsWith("main.ts")) files.js = { name, bytes: f.contents };
  else if (entry.endsWith("style.css")) files.css = { name, bytes: f.contents };
  else chunks.push({ name, bytes: f.contents });
}
if (!files.js || !files.css) throw new Error("build: no app script or stylesheet among " + res.outputFiles.map((f) => f.path));

let html = readFileSync(join(here, "src", "index.html"), "utf8");
html = html.replace("{{CSS}}", "/" + files.css.name).replace("{{JS}}", "/" + files.js.name);

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
writeFileSync(join(out, "index.html"), html);
for (const f of [...Object.values(files), ...chunks]) writeFileSync(join(out, f.name), f.bytes);
for (const n of readdirSync(out).sort()) console.log(n);
