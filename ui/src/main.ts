// main.ts: camchain's web UI. Views: sign-in, cameras (list or grid), one
// camera (status, sharing, settings), pairing, audit log, this account's
// logged-in clients. Navigation is the URL fragment (#/cameras, …), so the
// hub serves a single page.
import { get, onSessionLost, post, session, setSession } from "./api";
import { parseAddress, sameAddress, short } from "./bytes";
import { fmtDuration, fmtTime, h, mount, notice } from "./dom";
import { nowSec, signAndSubmit } from "./ledger";
import { CoSignatureError, pair, parseCode, type Code } from "./pairing";
import { deviceLogin, HttpError, lastAddress, loadChain, login, logout, PendingError, rawCall, renew, type Session } from "./session";
import type { AuditEvent, CameraStatus, ClientInfo, Device, List, Status, TxResult } from "./types";
import { personalSign, provider } from "./wallet";
import { play, type Player, type PlayerState } from "./player";
import type { Stream } from "./feedchain";
import { timeline } from "./timeline";
import { DecryptError, Keyring, loadViewingKey } from "./e2ee";
import { deriveViewingKey, type ViewingKey } from "./viewingkey";
import { fromHex, hex0x } from "./bytes";

const root = document.getElementById("app")!;
let hub: Status | null = null;
let flash: HTMLElement | null = null;

const say = (kind: "ok" | "error" | "info", text: string) => {
  flash = notice(kind, text);
};
const errText = (e: unknown) => (e instanceof Error ? e.message : String(e));

function header(): HTMLElement {
  const s = session();
  const link = (href: string, label: string) =>
    h("a", { href, "aria-current": location.hash.startsWith(href) ? "page" : null }, label);
  return h(
    "header",
    { class: "top" },
    h("a", { class: "skip", href: "#main", onclick: (e: Event) => { e.preventDefault(); document.getElementById("main")?.focus(); } }, "Skip to content"),
    h("a", { class: "brand", href: "#/cameras", "aria-label": "camchain home" }, h("span", { class: "logo", "aria-hidden": "true" }, "◉"), "camchain"),
    s &&
      h(
        "nav",
        { "aria-label": "Main" },
        link("#/cameras", "Cameras"),
        link("#/pair", "Pair"),
        link("#/audit", "Audit"),
        link("#/clients", "Devices"),
      ),
    s &&
      h(
        "div",
        { class: "who" },
        h("span", { class: "addr", title: s.address }, short(s.address, 4)),
        h("button", { class: "ghost", type: "button", onclick: () => doLogout() }, "Log out"),
      ),
  );
}

/** Each view shown counts one: a view still loading when another is
 * shown (the person navigated on) renders nothing and starts no player. */
let shown = 0;

/** loading shows a view's title while it loads, keeping the pending notice
 * for the view itself, and returns the view's number for stale(). */
function loading(title: string): number {
  shown++;
  mount(root, header(), h("main", { id: "main", tabindex: "-1", "aria-busy": "true" }, h("h1", null, title), h("p", { class: "step" }, "Loading…")));
  return shown;
}

/** stale says whether another view was shown since loading returned n. */
const stale = (n: number) => n !== shown;

function page(title: string, ...body: (Node | string | null | false | undefined)[]) {
  shown++;
  const f = flash;
  flash = null;
  mount(root, header(), h("main", { id: "main", tabindex: "-1" }, h("h1", null, title), f, ...body));
  document.title = `${title} · camchain`;
}

// ---------- sign-in ----------

function signedIn(s: Session) {
  setSession(s);
  say("ok", s.enrolled ? "This browser is now enrolled as one of your devices (your audit log shows it)." : "Signed in.");
  go("#/cameras");
}

function viewLogin(msg?: string) {
  const status = h("p", { class: "step", role: "status", "aria-live": "polite" });
  const err = h("div");
  if (msg) mount(err, notice("info", msg));
  const btn = h("button", { type: "button", class: "primary big" }, "Sign in with your wallet");
  btn.addEventListener("click", async () => {
    btn.disabled = true;
    try {
      signedIn(await login((t) => (status.textContent = t)));
    } catch (e) {
      status.textContent = "";
      if (e instanceof PendingError) return viewPending(e);
      mount(err, notice("error", errText(e)));
      btn.disabled = false;
    }
  });
  page(
    "Sign in",
    h(
      "div",
      { class: "signin" },
      h(
        "section",
        { class: "card" },
        h("h2", null, "With a browser wallet"),
        h("p", null, "camchain has no passwords. Your wallet signs a one-time sign-in message for this hub (Sign-In with Ethereum); nothing is sent to anyone but this hub."),
        provider() ? btn : h("p", { class: "notice info", role: "status" }, "No browser wallet found in this browser (MetaMask, Rabby, Coinbase Wallet…). Sign in from another device instead."),
        status,
        err,
      ),
      deviceCard(),
    ),
    hub && h("p", { class: "fine" }, `Hub ${short(hub.hub_address, 4)} · ledger ${hub.chain_id} · block ${hub.height}`),
  );
}

/** The device flow (SPEC §11.8): a code that a wallet elsewhere approves. */
function deviceCard(): HTMLElement {
  const addr = h("input", { id: "device-address", name: "address", placeholder: "0x… (optional)", autocomplete: "off", spellcheck: "false", class: "mono" });
  const out = h("div", { "aria-live": "polite" });
  const btn = h("button", { type: "submit" }, "Get a sign-in code");
  let ctl: AbortController | null = null;
  const form = h(
    "form",
    { class: "stack", "aria-label": "Sign in from another device" },
    h("div", { class: "field" }, h("label", { for: "device-address" }, "Your address (only this wallet may approve)"), addr),
    btn,
    out,
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    let a: string | null = null;
    try {
      a = addr.value.trim() ? parseAddress(addr.value) : null;
    } catch (e) {
      return mount(out, notice("error", "Address: " + errText(e)));
    }
    ctl?.abort();
    ctl = new AbortController();
    btn.disabled = true;
    try {
      const s = await deviceLogin(
        a,
        (code, exp) =>
          mount(
            out,
            h("p", null, "On a computer with your wallet, run:"),
            h("pre", { class: "cmd" }, `camchain login --approve ${code} --hub ${location.origin}`),
            h("p", { class: "code", "aria-label": `Code ${code.split("").join(" ")}` }, code),
            h("p", { class: "fine" }, `Check that it shows this browser before you approve. The code is good until ${exp.toLocaleTimeString()}; this page waits for it.`),
          ),
        ctl.signal,
      );
      signedIn(s);
    } catch (e) {
      btn.disabled = false;
      if (e instanceof PendingError) return viewPending(e);
      mount(out, notice("error", errText(e)));
    }
  });
  return h("section", { class: "card" }, h("h2", null, "From another device"), h("p", null, "No wallet in this browser? Get a code here and approve it with your wallet elsewhere (the camchain command)."), form);
}

function viewPending(p: PendingError) {
  const status = h("div", { "aria-live": "polite" });
  const again = h("button", { type: "button", class: "primary" }, "Check again");
  again.addEventListener("click", async () => {
    try {
      signedIn(await renew(p.address));
    } catch (e) {
      mount(status, notice(e instanceof PendingError ? "info" : "error", e instanceof PendingError ? "Not approved yet." : errText(e)));
    }
  });
  page(
    "Waiting for approval",
    h(
      "section",
      { class: "card narrow" },
      h("p", null, "Your account requires that a new browser be approved by one of your devices already signed in. On one of them, open Devices and approve this client, or run:"),
      h("pre", { class: "cmd" }, `camchain clients approve ${p.client}`),
      again,
      status,
    ),
  );
}

// ---------- the viewing key (SPEC §17.1) ----------
// Made from the wallet once per login (two personal_sign requests, one
// prompt's worth), kept in this page's memory only, and forgotten at logout.
let viewing: { account: string; key: Promise<ViewingKey> } | null = null;
let ring: Keyring | null = null;

function viewingKey(account: string): Promise<ViewingKey> {
  if (viewing?.account.toLowerCase() !== account.toLowerCase()) {
    const key = deriveViewingKey(account, (text) => personalSign(account, text));
    viewing = { account, key };
    key.catch(() => {
      if (viewing?.key === key) viewing = null; // declined: the next video asks again
    });
  }
  return viewing.key;
}

/** keyring opens sealed video for the logged-in account (e2ee.ts). */
function keyring(): Keyring | undefined {
  const s = session();
  if (!s) return undefined;
  if (ring?.account.toLowerCase() !== s.address.toLowerCase()) {
    const account = s.address;
    ring = new Keyring(
      account,
      async () => {
        const vk = await viewingKey(account);
        return loadViewingKey(account, vk.seed);
      },
      async (camera, epoch, serial) => {
        let l: { items: { envelope: string }[] } = { items: [] };
        try {
          l = await get<{ items: { envelope: string }[] }>(`/devices/${camera}/envelopes?epoch=${epoch}&serial=${serial}`);
        } catch (e) {
          if (!(e instanceof HttpError && (e.status === 404 || e.status === 403))) throw e;
        }
        if (l.items.length !== 1) throw new DecryptError("no-key", `cannot decrypt: this account has no key for this video (the hub gives it no envelope of content key ${serial})`);
        return fromHex(l.items[0].envelope);
      },
      async (camera, epoch) => {
        // The owner's history envelopes for this account (SPEC §17.6),
        // checked against the owner of the ledger's device record.
        const dev = await get<Device>(`/devices/${camera}`);
        let l: { items: { envelope: string }[] } = { items: [] };
        try {
          l = await get<{ items: { envelope: string }[] }>(`/devices/${camera}/history-keys?epoch=${epoch}&viewer=${account}`);
        } catch (e) {
          if (!(e instanceof HttpError && (e.status === 404 || e.status === 403))) throw e;
        }
        return { owner: dev.owner ?? "", envelopes: l.items.map((i) => fromHex(i.envelope)) };
      },
    );
  }
  return ring;
}

async function doLogout() {
  const s = session();
  viewing = null;
  ring = null;
  setSession(null);
  if (s) await logout(s.address);
  go("#/login");
}

// ---------- cameras ----------

interface Cam {
  dev: Device;
  role: "owner" | "viewer";
  status?: CameraStatus;
  err?: string;
}

async function myCameras(): Promise<Cam[]> {
  const me = session()!.address;
  const [owned, granted] = await Promise.all([
    get<List<Device>>(`/owners/${me}/devices`),
    get<List<Device>>(`/viewers/${me}/devices`),
  ]);
  const cams: Cam[] = [
    ...owned.items.map((dev) => ({ dev, role: "owner" as const })),
    ...granted.items.filter((d) => !owned.items.some((o) => o.camera === d.camera)).map((dev) => ({ dev, role: "viewer" as const })),
  ];
  await Promise.all(
    cams.map(async (c) => {
      try {
        c.status = await get<CameraStatus>(`/devices/${c.dev.camera}/status`);
      } catch (e) {
        c.err = errText(e);
      }
    }),
  );
  return cams;
}

const badge = (on: boolean, yes: string, no: string, cls = "") => h("span", { class: `badge ${on ? "on" : "off"} ${cls}` }, on ? yes : no);

function camStatusRows(c: Cam): HTMLElement {
  const st = c.status;
  const row = (k: string, v: Node | string) => [h("dt", null, k), h("dd", null, v)];
  if (!st) return h("p", { class: "fine" }, c.err ?? "status unavailable");
  return h(
    "dl",
    { class: "facts" },
    row("Chain head", st.head_seq !== undefined ? h("span", { title: st.head_hash ?? "" }, `#${st.head_seq} ${short(st.head_hash ?? "", 4)}`) : "no recordings yet"),
    row("Last segment", fmtTime(st.last_segment_end)),
    st.codec !== undefined && row("Codec", h("code", null, st.codec)),
    row("Last checkpoint", st.last_checkpoint ? `${fmtTime(st.last_checkpoint.period_end)} (block ${st.last_checkpoint.height})` : "none yet"),
    row("Checkpoints every", fmtDuration(st.checkpoint_period_seconds)),
    row("Retention", fmtDuration(st.retention_seconds)),
    row("End-to-end encryption", st.encryption ? "on" : "off"),
    st.alarms !== undefined && row("Alarms", st.alarms.count ? h("span", { class: "alarm" }, `${st.alarms.count} · last ${st.alarms.last_kind} ${fmtTime(st.alarms.last_time)}`) : "none"),
  );
}

/** tileText says in a few words what a grid tile's player state means. */
function tileText(s: PlayerState, stream: Stream): { cls: string; text: string } {
  switch (s.kind) {
    case "connecting":
      return { cls: "info", text: "Connecting…" };
    case "verified":
      return { cls: "ok", text: `✓ Verified · ${stream} stream` };
    case "unverified-part":
      return { cls: "pending", text: `Unverified part · ${stream} stream` };
    case "unsupported":
      return { cls: "error", text: `${s.video}: this browser cannot decode it` };
    case "cannot-decrypt":
      return { cls: "error", text: "Cannot decrypt" };
    case "broken":
      return { cls: "error", text: "Broken: stopped" };
    case "ended":
      return { cls: "info", text: "Ended" };
    case "closed":
      return { cls: s.code === 4403 || s.code === 4401 ? "error" : "info", text: `Closed (${s.code})` };
  }
}

/** liveTile plays a camera live in its grid card, from its sub stream
 * where the hub holds one (it is its own chain, SPEC §6.5), else from its
 * main stream: every segment verified in this page first, like the camera
 * page's player. */
function liveTile(c: Cam, thumb: HTMLElement, link: HTMLElement): void {
  const stream: Stream = c.status?.streams?.includes("sub") ? "sub" : "main";
  const video = h("video", { class: "tile", muted: true, playsinline: true, "aria-hidden": "true" }) as HTMLVideoElement;
  video.muted = true;
  const label = h("span", { class: "tile-state info", "data-stream": stream, "data-state": "connecting" }, "Connecting…");
  thumb.classList.add("has-tile");
  thumb.append(video, label);
  const base = link.getAttribute("aria-label") ?? "";
  const p = play({
    camera: c.dev.camera,
    hub: c.dev.hub!,
    stream,
    video,
    keyring: keyring(),
    onState: (s) => {
      const d = tileText(s, stream);
      label.className = `tile-state ${d.cls}`;
      label.dataset.state = s.kind;
      label.textContent = d.text;
      label.title = s.kind === "broken" ? s.message : "";
      link.setAttribute("aria-label", `${base}; live ${stream} stream: ${d.text}`);
    },
  });
  players.add(p);
}

function camCard(c: Cam): HTMLElement {
  const st = c.status;
  const thumb = h("div", { class: `thumb ${st?.recording ? "live" : ""}` }, h("span", { class: "thumb-label", "aria-hidden": "true" }, h("span", { class: "dot" }), h("span", null, st?.recording ? "Recording" : st?.online ? "Online" : "Offline")));
  const link = h(
    "a",
    { href: `#/camera/${c.dev.camera}`, class: "cam-link", "aria-label": `Camera ${c.dev.camera}, ${st?.online ? "online" : "offline"}, you are its ${c.role}` },
    thumb,
    h("div", { class: "cam-head" }, h("strong", { class: "mono" }, short(c.dev.camera, 5)), h("span", { class: "role" }, c.role)),
  );
  if (layout === "grid" && st?.online && c.dev.hub) liveTile(c, thumb, link);
  return h(
    "li",
    { class: "cam", "data-camera": c.dev.camera },
    link,
    h(
      "div",
      { class: "badges" },
      badge(!!st?.online, "online", "offline"),
      badge(!!st?.recording, "recording", "not recording", "rec"),
      st?.alarms?.count ? h("span", { class: "badge alarm" }, `${st.alarms.count} alarm${st.alarms.count > 1 ? "s" : ""}`) : null,
    ),
    camStatusRows(c),
  );
}

let layout: "grid" | "list" = (localStorage.getItem("camchain.layout") as "grid" | "list") || "grid";

async function viewCameras() {
  stopPlayers(); // the grid's tiles, on a layout change
  const n = loading("Cameras");
  const cams = await myCameras();
  if (stale(n)) return;
  const toggle = h(
    "div",
    { class: "seg", role: "group", "aria-label": "Layout" },
    ...(["grid", "list"] as const).map((l) =>
      h("button", { type: "button", "aria-pressed": String(layout === l), onclick: () => { layout = l; localStorage.setItem("camchain.layout", l); viewCameras(); } }, l === "grid" ? "Grid" : "List"),
    ),
  );
  page(
    "Cameras",
    h("div", { class: "toolbar" }, h("span", { class: "fine" }, `${cams.length} camera${cams.length === 1 ? "" : "s"}`), toggle),
    cams.length
      ? h("ul", { class: `cams ${layout}`, "aria-label": "Your cameras" }, ...cams.map(camCard))
      : h("section", { class: "card" }, h("p", null, "No cameras yet. "), h("a", { href: "#/pair", class: "button primary" }, "Pair a camera")),
  );
}

// ---------- one camera ----------

const toUnix = (v: string): bigint => (v ? BigInt(Math.floor(new Date(v).getTime() / 1000)) : 0n);

async function submitted(what: string, p: Promise<TxResult>): Promise<boolean> {
  try {
    const r = await p;
    say("ok", `${what}: on the ledger at block ${r.height} (tx ${short(r.hash, 6)}).`);
    return true;
  } catch (e) {
    say("error", `${what} failed: ${errText(e)}`);
    return false;
  }
}

async function viewCamera(cam: string) {
  const n = loading("Camera");
  const me = session()!.address;
  const [dev, st] = await Promise.all([get<Device>(`/devices/${cam}`), get<CameraStatus>(`/devices/${cam}/status`).catch(() => undefined)]);
  if (stale(n)) return;
  const owner = sameAddress(dev.owner, me);
  if (!owner && !dev.grants.some((g) => g.active && sameAddress(g.viewer, me))) {
    return page(`Camera ${short(cam, 4)}`, notice("error", "No access: you are not this camera's owner and hold no live grant on it (the owner may have revoked it, or it ended)."), h("p", null, h("a", { href: "#/cameras" }, "← All cameras")));
  }
  const c: Cam = { dev, role: owner ? "owner" : "viewer", status: st };
  const sections: HTMLElement[] = [
    h("section", { class: "card" }, h("h2", null, "Status"), h("p", { class: "mono wrap" }, dev.camera), h("div", { class: "badges" }, badge(!!st?.online, "online", "offline"), badge(!!st?.recording, "recording", "not recording", "rec")), camStatusRows(c)),
  ];
  if (dev.hub) sections.push(watchCard(dev, dev.hub, st));
  sections.push(exportCard(dev, st));
  if (owner) sections.push(sharing(dev), settings(dev, st), encryptionCard(dev, st));
  else sections.push(h("section", { class: "card" }, h("h2", null, "Your access"), ...dev.grants.map((g) => h("p", null, `Viewer until ${g.valid_until ? fmtTime(g.valid_until) : "revoked"}; recordings from ${g.history_from ? fmtTime(g.history_from) : "the start"}.`))));
  page(`Camera ${short(cam, 4)}`, h("p", null, h("a", { href: "#/cameras" }, "← All cameras")), ...sections);
}

function sharing(dev: Device): HTMLElement {
  const me = session()!.address;
  const viewer = h("input", { id: "grant-viewer", name: "viewer", required: true, placeholder: "0x…", autocomplete: "off", spellcheck: "false", class: "mono" });
  const until = h("input", { id: "grant-until", name: "until", type: "datetime-local" });
  const from = h("input", { id: "grant-from", name: "from", type: "datetime-local" });
  const form = h(
    "form",
    { class: "stack", "aria-label": "Grant a viewer" },
    h("div", { class: "field" }, h("label", { for: "grant-viewer" }, "Viewer's address"), viewer),
    h("div", { class: "row" }, h("div", { class: "field" }, h("label", { for: "grant-until" }, "Until (empty: until revoked)"), until), h("div", { class: "field" }, h("label", { for: "grant-from" }, "Recordings from (empty: all)"), from)),
    h("button", { type: "submit", class: "primary" }, "Sign and grant"),
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    let v: string;
    try {
      v = parseAddress(viewer.value);
    } catch (e) {
      say("error", "Viewer: " + errText(e));
      return viewCamera(dev.camera);
    }
    const vu = toUnix(until.value);
    if (vu && vu <= nowSec()) {
      say("error", "The grant's end must be in the future.");
      return viewCamera(dev.camera);
    }
    await submitted("Grant", signAndSubmit(hub!, me, "Grant", { camera: dev.camera, epoch: BigInt(dev.epoch), viewer: v, validUntil: vu, historyFrom: toUnix(from.value) }));
    viewCamera(dev.camera);
  });
  const rows = dev.grants.map((g) =>
    h(
      "tr",
      null,
      h("td", { class: "mono" }, h("span", { title: g.viewer }, short(g.viewer, 5))),
      h("td", null, g.active ? "active" : "ended"),
      h("td", null, g.valid_until ? fmtTime(g.valid_until) : "until revoked"),
      h("td", null, g.history_from ? fmtTime(g.history_from) : "all"),
      h(
        "td",
        null,
        g.active &&
          h("button", {
            type: "button",
            class: "danger",
            "aria-label": `Revoke ${g.viewer}`,
            onclick: async () => {
              await submitted("Revoke", signAndSubmit(hub!, me, "Revoke", { camera: dev.camera, epoch: BigInt(dev.epoch), viewer: g.viewer }));
              viewCamera(dev.camera);
            },
          }, "Revoke"),
      ),
    ),
  );
  return h(
    "section",
    { class: "card" },
    h("h2", null, "Sharing"),
    rows.length
      ? h("div", { class: "scroll" }, h("table", null, h("caption", { class: "sr" }, "Viewers of this camera"), h("thead", null, h("tr", null, h("th", { scope: "col" }, "Viewer"), h("th", { scope: "col" }, "State"), h("th", { scope: "col" }, "Until"), h("th", { scope: "col" }, "History from"), h("th", { scope: "col" }, h("span", { class: "sr" }, "Action")))), h("tbody", null, ...rows)))
      : h("p", { class: "fine" }, "Nobody else can see this camera."),
    h("h3", null, "Grant a viewer"),
    form,
    h("p", { class: "fine" }, "Your wallet shows exactly what you sign (EIP-712): the camera, the viewer and the dates."),
  );
}

// ---------- the verified player ----------

const players = new Set<Player | { stop(): void }>();
function stopPlayers() {
  for (const p of players) p.stop();
  players.clear();
}

/** describe says what the player's state means to the person watching. */
function describe(s: PlayerState): { cls: string; text: string } {
  switch (s.kind) {
    case "connecting":
      return { cls: "info", text: "Connecting…" };
    case "verified":
      return {
        cls: "ok",
        text: `Verified: ${s.segments} segment${s.segments === 1 ? "" : "s"} checked in this page against the camera's signature and the hub's session chain; now record #${s.seq} from ${s.start.toLocaleTimeString()}${s.skipped ? ` (${s.skipped} not forwarded: the other stream or deleted)` : ""}.`,
      };
    case "unverified-part":
      return {
        cls: "pending",
        text: `Unverified part: playing ${s.parts} part${s.parts === 1 ? "" : "s"} of record #${s.seq}, each signed by the camera and checked in this page, not yet bound into the chain — its record, when the segment closes, binds them or playback stops. ${s.segments} segment${s.segments === 1 ? "" : "s"} verified before.`,
      };
    case "unsupported":
      return { cls: "error", text: `This browser cannot decode ${s.video} (${s.codec}): nothing is shown rather than a black box. Download the recording (Export evidence) and play it in VLC or ffplay, or use a browser with ${s.video} support.` };
    case "cannot-decrypt":
      return {
        cls: "error",
        text: `${s.message[0].toUpperCase()}${s.message.slice(1)}. This video is end-to-end encrypted: only the owner and the viewers it was shared with at the time it was recorded can open it, on their own device. Playback stopped; nothing undecrypted was shown.`,
      };
    case "broken":
      return {
        cls: "error",
        text: `Broken: playback stopped. ${s.message}.${s.segments ? ` The ${s.segments} segment${s.segments === 1 ? "" : "s"} verified before the break ${s.segments === 1 ? "stays" : "stay"} in the player: scrub back to watch ${s.segments === 1 ? "it" : "them"}.` : ""}`,
      };
    case "ended":
      return { cls: "info", text: `End of the range: ${s.segments} segment${s.segments === 1 ? "" : "s"}, all verified.` };
    case "closed":
      return { cls: s.code === 4403 || s.code === 4401 ? "error" : "info", text: `The hub closed the stream (${s.code}): ${s.reason}` };
  }
}

/** watchCard plays the camera live or from a time, verifying every segment
 * in the page before it reaches the video element. */
function watchCard(dev: Device, hubAddr: string, st?: CameraStatus): HTMLElement {
  const video = h("video", { class: "live", muted: true, playsinline: true, controls: true, "aria-label": "Camera video" }) as HTMLVideoElement;
  video.muted = true;
  const status = h("p", { class: "play-state", role: "status", "aria-live": "polite" }, "Not playing.");
  const streamSel = h("select", { id: "play-stream", name: "stream" }, h("option", { value: "main" }, "Main (full resolution)"), h("option", { value: "sub" }, "Sub (low resolution)"));
  const from = h("input", { id: "play-from", name: "from", type: "datetime-local", step: 1 });
  const to = h("input", { id: "play-to", name: "to", type: "datetime-local", step: 1 });
  let cur: Player | null = null;
  const stream = (): Stream => (streamSel.value === "sub" ? "sub" : "main");
  const tl = timeline(dev.camera, stream, (t) => {
    // From the timeline: a recording from t on to live, the key frame at or before t first.
    from.value = localInput(t, true);
    to.value = "";
    start(true, t);
  });
  players.add(tl);
  streamSel.addEventListener("change", () => tl.reload());
  const start = (recorded: boolean, at?: Date) => {
    if (cur) {
      cur.stop();
      players.delete(cur);
    }
    const f = recorded ? at ?? (from.value ? new Date(from.value) : undefined) : undefined;
    const t = recorded && to.value ? new Date(to.value) : undefined;
    if (recorded && !f) {
      mount(status, "Choose where to start.");
      return;
    }
    tl.playhead(null);
    status.className = "play-state info";
    status.dataset.state = "starting";
    delete status.dataset.first;
    mount(status, f ? `Starting at the key frame at or before ${f.toLocaleTimeString()}…` : "Starting the live view…");
    cur = play({
      camera: dev.camera,
      hub: hubAddr,
      stream: stream(),
      from: f,
      to: t,
      video,
      keyring: keyring(),
      onState: (s) => {
        const d = describe(s);
        status.className = `play-state ${d.cls}`;
        status.dataset.state = s.kind;
        if (s.kind === "verified") {
          status.dataset.first = String(s.first.getTime());
          status.dataset.segments = String(s.segments);
          status.dataset.codec = s.codec;
        }
        if (s.kind === "unverified-part") {
          status.dataset.parts = String(s.parts);
          status.dataset.seq = String(s.seq);
        }
        if (s.kind === "broken") {
          status.dataset.brk = s.brk;
          status.dataset.segments = String(s.segments);
          status.dataset.seconds = s.seconds.toFixed(3);
        }
        mount(status, d.text);
      },
    });
    players.add(cur);
  };
  video.addEventListener("timeupdate", () => tl.playhead(cur?.position() ?? null));
  const liveBtn = h("button", { type: "button", class: "primary", onclick: () => start(false) }, "Watch live");
  const recBtn = h("button", { type: "button", onclick: () => start(true) }, "Play recording");
  const stopBtn = h("button", { type: "button", class: "ghost", onclick: () => { if (cur) { cur.stop(); players.delete(cur); cur = null; mount(status, "Stopped."); } } }, "Stop");
  return h(
    "section",
    { class: "card" },
    h("h2", null, "Watch"),
    video,
    status,
    h("div", { class: "row" }, h("div", { class: "field" }, h("label", { for: "play-stream" }, "Stream"), streamSel)),
    h("div", { class: "row" }, liveBtn, stopBtn),
    h("div", { class: "row" }, h("div", { class: "field" }, h("label", { for: "play-from" }, "Recording from"), from), h("div", { class: "field" }, h("label", { for: "play-to" }, "Until (empty: on to live)"), to)),
    recBtn,
    tl.el,
    h("p", { class: "fine" }, `Every segment is checked here before it plays: signed by camera ${short(dev.camera, 4)}, in its chain, bytes as signed, forwarded in order by hub ${short(hubAddr, 4)}.${st?.codec ? ` Codec ${st.codec}.` : ""}`),
  );
}

/** exportCard downloads an evidence bundle (SPEC §10) of a time range:
 * clips, records, proofs and the ledger's signed headers, which anyone can
 * check offline with `camchain evidence verify`. */
function exportCard(dev: Device, st?: CameraStatus): HTMLElement {
  const end = st?.last_checkpoint ? new Date(st.last_checkpoint.period_end) : new Date();
  const from = h("input", { id: "ev-from", name: "from", type: "datetime-local", required: true, value: localInput(new Date(end.getTime() - 3600e3)) });
  const to = h("input", { id: "ev-to", name: "to", type: "datetime-local", required: true, value: localInput(end) });
  const out = h("div", { "aria-live": "polite" });
  const btn = h("button", { type: "submit" }, "Download evidence bundle");
  const form = h(
    "form",
    { class: "stack", "aria-label": "Export evidence" },
    h("div", { class: "row" }, h("div", { class: "field" }, h("label", { for: "ev-from" }, "Recordings from"), from), h("div", { class: "field" }, h("label", { for: "ev-to" }, "Until"), to)),
    btn,
    out,
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = new Date(from.value), t = new Date(to.value);
    if (!(f < t)) return mount(out, notice("error", "The start must be before the end."));
    btn.disabled = true;
    mount(out, h("p", { class: "step" }, "Building the bundle…"));
    try {
      const q = new URLSearchParams({ from: f.toISOString(), to: t.toISOString() });
      const res = await fetch(`/api/v1/devices/${dev.camera}/evidence?${q}`, { headers: { "X-Camchain-CSRF": "1" }, credentials: "same-origin", cache: "no-store" });
      if (!res.ok) {
        const j = await res.json().catch(() => undefined);
        throw new Error(j?.error?.message ?? `HTTP ${res.status}`);
      }
      const blob = await res.blob();
      const name = `camchain-evidence-${dev.camera.slice(0, 10)}-${f.toISOString().replace(/[:.]/g, "").slice(0, 15)}.cbor`;
      const a = h("a", { href: URL.createObjectURL(blob), download: name });
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 60_000);
      mount(out, notice("ok", `Downloaded ${name} (${Math.round(blob.size / 1024)} KB). Anyone can check it offline: camchain evidence verify ${name} --genesis genesis.json`));
    } catch (e) {
      mount(out, notice("error", "Export failed: " + errText(e)));
    }
    btn.disabled = false;
  });
  return h("section", { class: "card" }, h("h2", null, "Export evidence"), h("p", { class: "fine" }, "Only recordings under a checkpoint on the ledger can be exported; the bundle proves them without this hub."), form);
}

const localInput = (d: Date, seconds = false) => new Date(d.getTime() - d.getTimezoneOffset() * 60e3).toISOString().slice(0, seconds ? 19 : 16);

const PERIODS: [number, string][] = [
  [60, "1 minute"],
  [600, "10 minutes"],
  [3600, "1 hour"],
  [6 * 3600, "6 hours"],
  [86400, "1 day"],
];

/** Bounds of a retention policy in days (internal/tx MinRetentionDays,
 * MaxRetentionDays); the ledger refuses anything outside. */
const RETENTION_DAYS = { min: 1, max: 3650 };

function settings(dev: Device, st?: CameraStatus): HTMLElement {
  const me = session()!.address;
  const sel = h("select", { id: "period", name: "period" }, ...PERIODS.map(([s, l]) => h("option", { value: s, selected: s === dev.checkpoint_period_seconds }, l)));
  if (!PERIODS.some(([s]) => s === dev.checkpoint_period_seconds)) sel.prepend(h("option", { value: dev.checkpoint_period_seconds, selected: true }, fmtDuration(dev.checkpoint_period_seconds)));
  const form = h("form", { class: "stack", "aria-label": "Checkpoint period" }, h("div", { class: "field" }, h("label", { for: "period" }, "Integrity checkpoint every"), sel), h("button", { type: "submit", class: "primary" }, "Sign and save"));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    await submitted("Checkpoint period", signAndSubmit(hub!, me, "SetPolicy", { camera: dev.camera, epoch: BigInt(dev.epoch), checkpointPeriod: BigInt(sel.value) }));
    viewCamera(dev.camera);
  });
  const keep = st ? st.retention_seconds / 86400 : undefined;
  const days = h("input", {
    id: "retention-days",
    name: "days",
    type: "number",
    inputmode: "numeric",
    required: true,
    min: RETENTION_DAYS.min,
    max: RETENTION_DAYS.max,
    step: 1,
    value: keep !== undefined && Number.isInteger(keep) ? keep : "",
    "aria-describedby": "retention-now",
  });
  const now = h(
    "p",
    { class: "fine", id: "retention-now" },
    !st ? "The hub did not say how long it keeps this camera's recordings." : st.retention_policy ? `Now ${fmtDuration(st.retention_seconds)}: your signed policy on the ledger.` : `Now ${fmtDuration(st.retention_seconds)}: this hub's default (--retention); you have signed no policy yet.`,
  );
  const keepForm = h(
    "form",
    { class: "stack", "aria-label": "Retention" },
    h("div", { class: "field" }, h("label", { for: "retention-days" }, "Keep recordings on the hub (days)"), days),
    now,
    h("button", { type: "submit", class: "primary" }, "Sign the retention policy"),
  );
  keepForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const n = Number(days.value);
    if (!Number.isInteger(n) || n < RETENTION_DAYS.min || n > RETENTION_DAYS.max) {
      say("error", `Retention: a whole number of days from ${RETENTION_DAYS.min} to ${RETENTION_DAYS.max}.`);
      return viewCamera(dev.camera);
    }
    await submitted("Retention", signAndSubmit(hub!, me, "Retention", { camera: dev.camera, epoch: BigInt(dev.epoch), days: BigInt(n) }));
    viewCamera(dev.camera);
  });
  return h(
    "section",
    { class: "card" },
    h("h2", null, "Settings"),
    form,
    h("p", { class: "fine" }, "The camera commits a Merkle root of its recordings to the ledger at the end of each period; your wallet signs the change."),
    keepForm,
    h("p", { class: "fine" }, "The hub deletes recordings older than this, and only those under a checkpoint. The policy is on the ledger, so a verifier can tell an allowed deletion from one made too early (pruned-early)."),
  );
}

/** What a hub that cannot read the video can never do for it (issue 18;
 * SPEC §17.4), said before the owner chooses. camchain's hub does none of
 * it today; with encryption on, no later version or add-on can either. */
const E2EE_LOSSES = [
  "H.265 transcoding: no converting H.265 video for a browser that cannot decode it (Chromium).",
  "Any analysis of the pixels by the hub: no motion or object detection there.",
  "Home Assistant camera entities and snapshots: the hub has no picture to give them. MQTT states and events keep working.",
];

/** encryptionCard shows the camera's end-to-end encryption policy from the
 * API and lets the owner turn it on or off: an owner-signed Encryption
 * transaction (SPEC §2.2, §17.4) the camera checks itself. Before the
 * wallet is asked, it says what the change means. */
function encryptionCard(dev: Device, st?: CameraStatus): HTMLElement {
  const me = session()!.address;
  const on = !!st?.encryption;
  const now = h(
    "p",
    { id: "e2ee-now" },
    !st ? "The hub did not say whether this camera's video is encrypted." : on ? "Now on: your signed policy on the ledger. The camera encrypts its video before its card and the link." : "Now off: the camera sends its video in the clear to this hub, over the encrypted link.",
  );
  const turn = on ? "off" : "on";
  const confirm = h("input", { id: "e2ee-confirm", type: "checkbox", name: "confirm" }) as HTMLInputElement;
  const sign = h("button", { type: "submit", class: "primary", disabled: true }, `Sign: turn encryption ${turn}`);
  confirm.addEventListener("change", () => (sign.disabled = !confirm.checked));
  const consequences = on
    ? [
        h("p", null, "Turning it off: from then on the camera sends new video in the clear to this hub, which (and anything that copies its disk) can see it again. Video recorded while it was on stays encrypted."),
        h("div", { class: "check" }, confirm, h("label", { for: "e2ee-confirm" }, "I understand that new video will reach the hub unencrypted.")),
      ]
    : [
        h("p", null, "Turning it on: the camera encrypts every segment and live part before its own card and the link (post-quantum HPKE, AES-256-GCM). The hub, its disk and any copy hold only ciphertext; only your devices and those of viewers you grant can watch."),
        h("p", null, h("strong", null, "What the hub then loses"), " (this hub does none of it yet; with encryption on, no hub or add-on ever can):"),
        h("ul", null, ...E2EE_LOSSES.map((l) => h("li", null, l))),
        h("p", null, h("strong", null, "If you lose your wallet — the 24 words or the passphrase — the encrypted video is unreadable for ever."), " Nobody can recover it, not this hub, not us."),
        h("p", null, "Watching needs a viewing key registered on the ledger: pairing registered yours; each viewer you grant registers theirs once, with ", h("code", null, "camchain wallet viewing-key --register"), ". Until a viewer has, the camera cannot encrypt to them and they cannot watch."),
        h("p", { class: "fine" }, "Integrity checkpoints, ", h("code", null, "camchain verify"), " and evidence bundles work as before, without any key."),
        h("div", { class: "check" }, confirm, h("label", { for: "e2ee-confirm" }, "I understand what the hub loses, and that without my wallet the video is lost.")),
      ];
  const panel = h("form", { class: "stack e2ee-confirm", id: "e2ee-panel", hidden: true, "aria-label": `Before turning encryption ${turn}` }, ...consequences, sign);
  const toggle = h("button", { type: "button", "aria-expanded": "false", "aria-controls": "e2ee-panel" }, `Turn end-to-end encryption ${turn}…`);
  toggle.addEventListener("click", () => {
    panel.hidden = !panel.hidden;
    toggle.setAttribute("aria-expanded", String(!panel.hidden));
  });
  panel.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (!confirm.checked) return;
    sign.disabled = true;
    const done = await submitted(`End-to-end encryption ${turn}`, signAndSubmit(hub!, me, "Encryption", { camera: dev.camera, epoch: BigInt(dev.epoch), on: on ? 0n : 1n }));
    if (!done) sign.disabled = false;
    viewCamera(dev.camera);
  });
  return h(
    "section",
    { class: "card", "aria-labelledby": "e2ee-h" },
    h("h2", { id: "e2ee-h" }, "End-to-end encryption"),
    now,
    toggle,
    panel,
    h("p", { class: "fine" }, "A policy your wallet signs; the camera checks your signature itself, so the hub can delay a change but not make one (SPEC §17.4). A camera is paired with it on unless you choose otherwise; one paired before that stays off until you turn it on."),
  );
}

// ---------- pairing ----------

function viewPair() {
  const ta = h("textarea", { id: "code", name: "code", rows: 3, required: true, spellcheck: "false", autocomplete: "off", class: "mono", placeholder: "CCPAIR1:…" });
  const info = h("div", { "aria-live": "polite" });
  const status = h("p", { class: "step", role: "status", "aria-live": "polite" });
  let code: Code | null = null;
  ta.addEventListener("input", () => {
    code = null;
    if (!ta.value.trim()) return mount(info);
    try {
      code = parseCode(ta.value);
      mount(info, h("p", { class: "fine" }, `Camera ${code.camera} at ${code.addr}; code valid until ${new Date(code.expiry * 1000).toLocaleTimeString()}.`));
    } catch (e) {
      mount(info, notice("error", errText(e)));
    }
  });
  const btn = h("button", { type: "submit", class: "primary" }, "Pair this camera");
  // End-to-end encryption from the imprint, on unless the owner unticks it
  // (SPEC §17.4): what the hub then loses is said here, before signing.
  const encrypt = h("input", { id: "pair-e2ee", type: "checkbox", name: "e2ee", checked: true }) as HTMLInputElement;
  const e2eeNote = h("div", { class: "fine", id: "pair-e2ee-note" });
  const sayE2EE = () =>
    mount(
      e2eeNote,
      encrypt.checked
        ? h(
            "div",
            null,
            h("p", null, "The camera seals its video from its first segment, before its card and the link; this hub, its disk and any copy hold only ciphertext. Your wallet signs the policy and your viewing key with the imprint. What the hub then cannot do:"),
            h("ul", null, ...E2EE_LOSSES.map((l) => h("li", null, l))),
            h("p", null, h("strong", null, "If you lose your wallet — the 24 words or the passphrase — the encrypted video is unreadable for ever.")),
          )
        : h("p", null, h("strong", null, "Off: this hub, and anyone who copies its disk, can watch this camera's video."), " You can turn encryption on later."),
    );
  encrypt.addEventListener("change", sayE2EE);
  sayE2EE();
  const video = h("video", { class: "scan", hidden: true, "aria-label": "Camera preview for the QR code" });
  const scanBtn = h("button", { type: "button" }, "Scan the QR code");
  let scanning: { stop(): void } | null = null;
  scanBtn.addEventListener("click", async () => {
    if (scanning) {
      scanning.stop();
      scanning = null;
      video.hidden = true;
      scanBtn.textContent = "Scan the QR code";
      return;
    }
    try {
      const { scan } = await import("./qrscan");
      video.hidden = false;
      scanBtn.textContent = "Stop scanning";
      mount(info, h("p", { class: "fine" }, "Hold the camera's QR code in front of this device's camera…"));
      scanning = await scan(
        video,
        (t) => t.trim().toUpperCase().startsWith("CCPAIR1:"),
        (t) => {
          scanning = null;
          video.hidden = true;
          scanBtn.textContent = "Scan the QR code";
          ta.value = t.trim();
          ta.dispatchEvent(new Event("input"));
        },
      );
    } catch (e) {
      video.hidden = true;
      scanBtn.textContent = "Scan the QR code";
      mount(info, notice("error", `Cannot scan: ${errText(e)}. Paste the code instead.`));
    }
  });
  const form = h(
    "form",
    { class: "stack", "aria-label": "Pair a camera" },
    h("div", { class: "field" }, h("label", { for: "code" }, "Pairing code shown by the camera"), ta),
    h("div", { class: "row-buttons" }, scanBtn),
    video,
    info,
    h("div", { class: "check" }, encrypt, h("label", { for: "pair-e2ee" }, "End-to-end encryption (recommended)")),
    e2eeNote,
    btn,
    status,
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      code = parseCode(ta.value);
    } catch (e) {
      mount(info, notice("error", errText(e)));
      return;
    }
    btn.disabled = true;
    try {
      const me = session()!.address;
      const r = await pair(hub!, me, code, (t) => (status.textContent = t), { encrypt: encrypt.checked, viewingKey: () => viewingKey(me) });
      const paired = `Camera ${short(r.camera, 5)} is yours (epoch ${r.epoch}); its co-signature verified in this page, imprint at block ${r.imprint.height}.`;
      // The camera holds the policy and the owner's key already (they came
      // with the imprint); the ledger gets them now, so that the hub's
      // pages and the viewers see them (SPEC §17.1, §17.4).
      const submitRaw = async (raw: Uint8Array) => {
        const t = await rawCall<TxResult>("POST", "/txs", { tx: hex0x(raw) });
        if (t.code !== 0) throw new Error(`the ledger refused it: ${t.code_name}${t.log ? ` (${t.log})` : ""}`);
      };
      const problems: string[] = [];
      if (r.viewingKey && r.viewingKeyTx) {
        const vk = r.viewingKey;
        const registered = async () => {
          try {
            return (await get<{ public_key: string }>(`/viewing-keys/${me}`)).public_key.toLowerCase() === hex0x(vk.publicKey);
          } catch (e) {
            if (!(e instanceof HttpError && e.status === 404)) throw e;
            return false;
          }
        };
        try {
          if (!(await registered())) {
            status.textContent = "Registering your viewing key on the ledger…";
            try {
              await submitRaw(r.viewingKeyTx);
            } catch (e) {
              // The ledger refuses a key it already holds (registered meanwhile, or by the CLI): then it is there.
              if (!(await registered())) throw e;
            }
          }
        } catch (e) {
          problems.push(`your viewing key is not on the ledger (${errText(e)}; the camera has it: register it with camchain wallet viewing-key --register)`);
        }
      }
      try {
        await submitRaw(r.encryptionTx);
      } catch (e) {
        problems.push(`the encryption policy is not on the ledger (${errText(e)}; the camera has it: sign it again on the camera's page)`);
      }
      const e2ee = r.viewingKey
        ? `End-to-end encryption is on from the first segment, to your viewing key ${r.viewingKey.id}.`
        : "End-to-end encryption is off: this hub can watch the video.";
      if (problems.length) say("error", `${paired} ${e2ee} But ${problems.join("; and ")}.`);
      else say("ok", `${paired} ${e2ee}`);
      go(`#/camera/${r.camera}`);
    } catch (e) {
      status.textContent = "";
      const msg = e instanceof CoSignatureError ? `Refused: ${e.message}. Nothing was submitted; the camera is not paired (it now shows a new code).` : errText(e);
      mount(info, notice("error", msg));
      btn.disabled = false;
    }
  });
  page(
    "Pair a camera",
    h(
      "section",
      { class: "card narrow" },
      h("p", null, "An unowned camera shows a one-time code (its console, its pairing-code.txt, or a QR code). Only someone with the camera in hand can read it. Paste it here: your wallet signs the imprint, the camera co-signs, and this page checks the camera's signature before anything reaches the ledger."),
      form,
    ),
  );
}

// ---------- audit ----------

async function viewAudit() {
  const n = loading("Audit log");
  const q = new URLSearchParams(location.hash.split("?")[1] ?? "");
  const me = session()!.address;
  const owned = await get<List<Device>>(`/owners/${me}/devices`);
  const cam = q.get("camera") ?? "";
  const kind = q.get("kind") ?? "";
  const source = q.get("source") ?? "";
  const path = cam ? `/audit?camera=${cam}&limit=200` : `/audit?limit=200`;
  const evs = (await get<List<AuditEvent>>(path)).items.filter((e) => (!kind || e.kind.includes(kind)) && (!source || e.source === source));
  if (stale(n)) return;
  const camSel = h("select", { id: "f-camera", name: "camera" }, h("option", { value: "" }, "My events"), ...owned.items.map((d) => h("option", { value: d.camera, selected: d.camera === cam }, "Camera " + short(d.camera, 4))));
  const srcSel = h("select", { id: "f-source", name: "source" }, ...["", "ledger", "hub", "camera"].map((s) => h("option", { value: s, selected: s === source }, s || "any")));
  const kindIn = h("input", { id: "f-kind", name: "kind", value: kind, placeholder: "e.g. grant" });
  const form = h(
    "form",
    { class: "filters", "aria-label": "Filter the audit log" },
    h("div", null, h("label", { for: "f-camera" }, "Scope"), camSel),
    h("div", null, h("label", { for: "f-source" }, "Written by"), srcSel),
    h("div", null, h("label", { for: "f-kind" }, "Kind contains"), kindIn),
    h("button", { type: "submit" }, "Filter"),
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const p = new URLSearchParams();
    if (camSel.value) p.set("camera", camSel.value);
    if (srcSel.value) p.set("source", srcSel.value);
    if (kindIn.value) p.set("kind", kindIn.value);
    go("#/audit?" + p.toString());
  });
  const rows = evs.map((e) =>
    h(
      "tr",
      { class: e.kind.includes("clone") || e.kind.includes("diverg") || e.kind.startsWith("camera/") ? "alarm-row" : "" },
      h("td", null, fmtTime(e.time)),
      h("td", null, h("code", null, e.kind)),
      h("td", null, e.source),
      h("td", { class: "mono" }, e.camera ? short(e.camera, 4) : "—"),
      h("td", null, e.detail ?? ""),
      h("td", null, String(e.height)),
    ),
  );
  page(
    "Audit log",
    form,
    h(
      "div",
      { class: "scroll card" },
      h("table", null, h("caption", { class: "sr" }, "Ledger events, newest first"), h("thead", null, h("tr", null, ...["Time", "Kind", "Source", "Camera", "Detail", "Block"].map((t) => h("th", { scope: "col" }, t)))), h("tbody", null, ...rows)),
      !rows.length && h("p", { class: "fine" }, "No events match."),
    ),
  );
}

// ---------- clients ----------

async function viewClients() {
  const n = loading("Your devices");
  const list = await get<List<ClientInfo>>("/auth/clients");
  if (stale(n)) return;
  const rows = list.items.map((c) =>
    h(
      "tr",
      null,
      h("td", { class: "mono" }, c.client.slice(0, 8) + "…", c.current && h("span", { class: "badge on" }, "this browser"), c.pending && !c.revoked && h("span", { class: "badge alarm" }, "pending approval")),
      h("td", null, fmtTime(c.enrolled)),
      h("td", null, fmtTime(c.last_seen)),
      h("td", null, String(c.logins)),
      h("td", null, c.clone_attempts ? h("span", { class: "alarm" }, String(c.clone_attempts)) : "0"),
      h(
        "td",
        { class: "actions" },
        c.pending &&
          !c.revoked &&
          h("button", {
            type: "button",
            class: "primary small",
            "aria-label": `Approve client ${c.client.slice(0, 8)}`,
            onclick: async () => {
              try {
                await post(`/auth/clients/${c.client}/approve`, {});
                say("ok", `Client ${c.client.slice(0, 8)}… approved: it can now sign in.`);
              } catch (e) {
                say("error", errText(e));
              }
              viewClients();
            },
          }, "Approve"),
        c.revoked
          ? "revoked " + fmtTime(c.revoked)
          : h("button", {
              type: "button",
              class: "danger",
              "aria-label": `Revoke client ${c.client.slice(0, 8)}`,
              onclick: async () => {
                try {
                  await post(`/auth/clients/${c.client}/revoke`, {});
                  say("ok", `Client ${c.client.slice(0, 8)}… revoked: it can no longer use or renew its session.`);
                } catch (e) {
                  say("error", errText(e));
                }
                if (c.current) return doLogout();
                viewClients();
              },
            }, "Revoke"),
      ),
    ),
  );
  page(
    "Your devices",
    h("p", null, "Every browser or computer logged in as you keeps a login chain; a copy of one is refused and counted here as a clone attempt."),
    h(
      "div",
      { class: "scroll card" },
      h("table", null, h("caption", { class: "sr" }, "Clients enrolled for your address"), h("thead", null, h("tr", null, ...["Client", "Enrolled", "Last seen", "Logins", "Clone attempts", ""].map((t) => h("th", { scope: "col" }, t)))), h("tbody", null, ...rows)),
    ),
  );
}

// ---------- routing ----------

function go(hash: string) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

async function route() {
  const hash = location.hash || "#/cameras";
  stopPlayers();
  if (!session()) {
    if (hash !== "#/login") history.replaceState(null, "", "#/login");
    return viewLogin();
  }
  try {
    if (hash.startsWith("#/camera/")) await viewCamera(parseAddress(hash.slice(9).split("?")[0]));
    else if (hash.startsWith("#/pair")) viewPair();
    else if (hash.startsWith("#/audit")) await viewAudit();
    else if (hash.startsWith("#/clients")) await viewClients();
    else {
      if (hash !== "#/cameras") history.replaceState(null, "", "#/cameras");
      await viewCameras();
    }
    document.getElementById("main")?.focus({ preventScroll: true });
  } catch (e) {
    if (e instanceof HttpError && e.status === 401) return;
    page("Something went wrong", notice("error", errText(e)), h("p", null, h("a", { href: "#/cameras" }, "Back to cameras")));
  }
}

onSessionLost((why) => {
  viewLogin("Your session ended (" + why + "). Sign in again.");
});

async function start() {
  try {
    hub = await rawCall<Status>("GET", "/status");
  } catch (e) {
    mount(root, notice("error", "Cannot reach the hub: " + errText(e)));
    return;
  }
  const last = lastAddress();
  if (last && loadChain(last)?.renewal) {
    try {
      setSession(await renew(last));
    } catch (e) {
      if (e instanceof PendingError) {
        window.addEventListener("hashchange", route);
        viewPending(e);
        document.body.dataset.ready = "1";
        return;
      }
      /* otherwise: log in with the wallet */
    }
  }
  window.addEventListener("hashchange", route);
  await route();
  document.body.dataset.ready = "1";
  performance.mark("camchain-interactive"); // tools/bench: time to interactive
}

start();
