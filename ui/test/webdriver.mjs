// webdriver.mjs: the few W3C WebDriver commands (https://www.w3.org/TR/webdriver2/)
// the WebKit test needs, over Node's fetch: Playwright drives only its own
// patched WebKit builds, which cannot be installed here, while Debian ships
// WebKitGTK's own driver (webkit2gtk-driver: WebKitWebDriver, which starts
// MiniBrowser in automation mode).
import { spawn } from "node:child_process";
import { createServer } from "node:net";

const freePort = () =>
  new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

/** startDriver runs WebKitWebDriver on a free port until stop(). */
export async function startDriver(bin = process.env.WEBKIT_WEBDRIVER || "WebKitWebDriver") {
  const port = await freePort();
  const proc = spawn(bin, [`--port=${port}`, "--host=127.0.0.1"], { stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  proc.stdout.on("data", (b) => (log += b));
  proc.stderr.on("data", (b) => (log += b));
  const base = `http://127.0.0.1:${port}`;
  for (let deadline = Date.now() + 15000; ; await new Promise((r) => setTimeout(r, 100))) {
    if (proc.exitCode !== null) throw new Error(`${bin} exited ${proc.exitCode}: ${log}`);
    try {
      const r = await fetch(base + "/status");
      if ((await r.json()).value?.ready) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) throw new Error(`${bin} not ready after 15 s: ${log}`);
  }
  return {
    base,
    log: () => log,
    stop: () => new Promise((resolve) => (proc.exitCode !== null ? resolve() : (proc.once("exit", resolve), proc.kill("SIGTERM")))),
  };
}

async function call(base, method, path, body) {
  const r = await fetch(base + path, { method, headers: { "content-type": "application/json; charset=utf-8" }, body: body === undefined ? undefined : JSON.stringify(body) });
  const j = await r.json();
  if (!r.ok) throw new Error(`WebDriver ${method} ${path}: ${j.value?.error}: ${j.value?.message}`);
  return j.value;
}

/** A browser session: navigation, scripts in the page, cleanup. */
export class Session {
  static async create(base, capabilities) {
    const v = await call(base, "POST", "/session", { capabilities: { alwaysMatch: capabilities } });
    return new Session(base, v.sessionId, v.capabilities);
  }
  constructor(base, id, caps) {
    this.base = base;
    this.id = id;
    this.caps = caps;
  }
  cmd(method, path, body) {
    return call(this.base, method, `/session/${this.id}${path}`, body);
  }
  goto(url) {
    return this.cmd("POST", "/url", { url });
  }
  /** run evaluates a function body in the page (arguments as `arguments`). */
  run(script, ...args) {
    return this.cmd("POST", "/execute/sync", { script, args });
  }
  /** runAsync: the body calls arguments[arguments.length - 1] with its result. */
  runAsync(script, ...args) {
    return this.cmd("POST", "/execute/async", { script, args });
  }
  /** until polls a function body until it returns something truthy. */
  async until(script, what, timeout = 30000, ...args) {
    for (let deadline = Date.now() + timeout; ; await new Promise((r) => setTimeout(r, 200))) {
      const v = await this.run(script, ...args);
      if (v) return v;
      if (Date.now() > deadline) {
        const shown = await this.run(`const m = document.querySelector("main") ?? document.body; return m ? m.innerText.slice(0, 600) : "";`).catch((e) => String(e));
        throw new Error(`after ${timeout} ms: ${what}; the page shows: ${shown}`);
      }
    }
  }
  close() {
    return call(this.base, "DELETE", `/session/${this.id}`);
  }
}
