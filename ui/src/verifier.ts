// verifier.ts: the offline evidence verifier, one self-contained HTML file
// (`camchain evidence export --html`, SPEC §10.6). It reads the bundle
// embedded in the page (or one the reader opens), checks it with
// evidence.ts — the same checks as `camchain evidence verify`, in this
// browser, with no network (the page's CSP allows no connection at all) —
// and says in plain words what is proven, what is not, and by whom. Clips
// play from the verified bytes only.
//
// What the reader trusts is theirs to give, never the bundle's: the
// ledger's validator-set hash and witness keys come from the form (or the
// page's #pin=…&witness=… fragment), obtained out of band.
import { h, mount } from "./dom";
import { fromHex } from "./bytes";
import { decodeBundle } from "./bundle";
import { kindOf, openReveals, parseWitnessKey, playable, reportJSON, segmentDigests, verify, type Options, type Report, type WitnessKey } from "./evidence";

const $ = (id: string) => document.getElementById(id)!;

/** embedded is the bundle the page holds: standard base64 of successive
 * pieces, each the text of one <script class="bundle"> element (SPEC
 * §10.7), decoded piece by piece into one buffer — never one string of the
 * whole bundle (tens of megabytes), which the browser would build and then
 * copy. Null for the template, which holds the marker. */
function embedded(): Uint8Array | null {
  const texts = Array.from(document.querySelectorAll("script.bundle"), (el) => el.textContent ?? "");
  const head = (texts[0] ?? "").trimStart().slice(0, 2);
  if (!head || head.startsWith("@@")) return null; // the template: no bundle put in
  // At most 3 bytes for every 4 characters (base64 skips ASCII whitespace).
  const out = new Uint8Array(texts.reduce((n, t) => n + Math.floor(t.length / 4) * 3 + 3, 0));
  type Into = (s: string) => { read: number; written: number };
  const setFrom = (out as unknown as { setFromBase64?: Into }).setFromBase64;
  let n = 0;
  for (const t of texts) {
    if (setFrom) {
      // The native decoder where the browser has one: strict base64, each
      // piece whole (it throws on anything else).
      const { read, written } = setFrom.call(out.subarray(n), t);
      if (read !== t.length) throw new Error("a piece of the bundle does not fit");
      n += written;
      continue;
    }
    const bin = atob(t.replace(/\s+/g, ""));
    for (let i = 0; i < bin.length; i++) out[n + i] = bin.charCodeAt(i);
    n += bin.length;
  }
  return out.subarray(0, n);
}

interface Trust {
  pin?: Uint8Array;
  witnesses: WitnessKey[];
}

function trustFromForm(): Trust {
  const pin = ($("pin") as HTMLInputElement).value.trim();
  const ws = ($("witnesses") as HTMLTextAreaElement).value
    .split("\n")
    .map((s) => s.trim())
    .filter(Boolean);
  return { pin: pin ? fromHex(pin, 32) : undefined, witnesses: ws.map(parseWitnessKey) };
}

function fillFormFromFragment(): void {
  const q = new URLSearchParams(location.hash.slice(1));
  if (q.get("pin")) ($("pin") as HTMLInputElement).value = q.get("pin")!;
  if (q.getAll("witness").length) ($("witnesses") as HTMLTextAreaElement).value = q.getAll("witness").join("\n");
}

let current: Uint8Array | null = null;
const urls: string[] = [];

async function run(): Promise<void> {
  const out = $("result");
  const result = $("result-json");
  for (const u of urls.splice(0)) URL.revokeObjectURL(u);
  if (!current) {
    mount(out, h("p", null, "No bundle in this page: open one above."));
    return;
  }
  let trust: Trust;
  try {
    trust = trustFromForm();
  } catch (e) {
    mount(out, h("p", { class: "notice error", role: "alert" }, `What you trust is not readable: ${(e as Error).message}`));
    return;
  }
  const opts: Options = { pin: trust.pin, witnesses: trust.witnesses, now: BigInt(Math.floor(Date.now() / 1000)) };
  const t0 = performance.now();
  let rep: Report | null = null;
  let err: unknown = null;
  try {
    const b = decodeBundle(current);
    rep = verify(b, { ...opts, digests: await segmentDigests(b) });
    await openReveals(b, rep);
  } catch (e) {
    rep = null;
    err = e;
  }
  const ms = performance.now() - t0;
  const kind = err ? kindOf(err) : "ok";
  document.body.dataset.verdict = kind;
  document.body.dataset.verifyMs = ms.toFixed(1);
  result.textContent = JSON.stringify({ kind, error: err ? (err as Error).message : undefined, report: rep ? reportJSON(rep) : undefined, ms });
  if (err) {
    mount(
      out,
      h("h2", { class: "verdict bad" }, "NOT VERIFIED"),
      h("p", { class: "notice error", role: "alert" }, (err as Error).message),
      h("p", null, `Failure kind: ${kind}. Nothing in this bundle may be taken as proven. (Checked in ${ms.toFixed(0)} ms.)`),
    );
    return;
  }
  mount(out, ...renderReport(rep!, ms));
}

function renderReport(r: Report, ms: number): Node[] {
  const first = r.clips[0],
    last = r.clips[r.clips.length - 1];
  const end = new Date(Date.parse(last.start) + last.duration * 1000).toISOString();
  const witnessed = r.checkpoints.filter((c) => c.witnesses.some((w) => w.trusted)).length;
  const unchecked = r.checkpoints.reduce((n, c) => n + c.timestampsUnchecked, 0);
  const proven: (Node | string)[] = [
    `Each clip's bytes have the size and SHA-256 its feed-chain record states, and each record is signed by camera ${r.camera}.`,
    "Each record is the leaf at its sequence number of the Merkle tree (RFC 6962) whose root and size the camera signed in a Checkpoint transaction.",
    `Each Checkpoint transaction is in a block of ledger ${r.chainID} that the ledger applied (result code 0), and that block and the next are signed by more than 2/3 of the voting power of validator set ${r.validatorsHashes.join(", ")}.`,
  ];
  for (const c of r.validatorChanges)
    proven.push(
      `At block ${c.height} (${c.blockTime}) the ledger's validator set changed from ${c.from} to ${c.to} (${c.validators} validator(s), voting power ${c.votingPower}): that block is signed by more than 2/3 of the voting power of the set before it, and the new set signs from block ${c.height + 1n} on.`,
    );
  if (r.pinned && r.validatorChanges.length)
    proven.push(`The first set, ${r.genesisValidatorsHash}, is the one you gave: each later set was handed the ledger by the one before it, so these blocks are the ledger's.`);
  else if (r.pinned) proven.push("That validator set is the one you gave: these blocks are the ledger's.");
  if (witnessed === r.checkpoints.length && r.trustedWitnesses.length)
    proven.push(`Each checkpoint's tree was cosigned by a witness you trust: someone outside the owner's control saw this history by the time it signed (log ${r.origin}).`);
  const notProven: string[] = [];
  if (!r.pinned)
    notProven.push(
      `That validator set ${r.genesisValidatorsHash ? `${r.genesisValidatorsHash}, where the bundle's history of the set starts,` : r.validatorsHashes.join(", ")} is the ledger's: the set was taken from the bundle itself, and anyone can run a private chain with a key of their own and make such a bundle. Enter the ledger's validator-set hash, obtained from a source you trust, above.`,
    );
  if (!r.trustedWitnesses.length)
    notProven.push("That anyone outside the owner's control saw this history when it was made (no witness key was given): an owner who runs the ledger's only validator could have made it later.");
  if (unchecked)
    notProven.push(`${unchecked} RFC 3161 timestamp(s) are in the bundle but are NOT checked by this page: check them with \`camchain evidence verify --tsa-cert\` or \`openssl ts -verify\`.`);
  notProven.push(
    "That the camera's clock was right: times are the camera's (the clock column says whether a clip's time came from the camera's RTCP clock (rtcp), the recorder's arrival clock (arrival), or that clock while the recorder's kernel said NTP kept it in step (arrival-ntp): all the camera's own word), nor anything about records not in the bundle.",
  );
  if (r.missing.length) notProven.push(`The bundle leaves out records ${r.missing.map((m) => (m.first === m.last ? `#${m.first}` : `#${m.first}–#${m.last}`)).join(", ")} between its first and last clip.`);

  return [
    h("h2", { class: r.pinned ? "verdict ok" : "verdict warn" }, r.pinned ? "VERIFIED" : "SELF-CONSISTENT ONLY, NOT VERIFIED AGAINST THE LEDGER"),
    h(
      "p",
      null,
      `${r.clips.length} clip(s) of camera ${r.camera}, epoch ${r.epoch}, ${r.stream} stream, records #${first.seq}–#${last.seq}, recorded ${first.start} to ${end}. Checked in this browser in ${ms.toFixed(0)} ms, offline.`,
    ),
    h("h3", null, "What this bundle proves"),
    h("ul", { id: "proven" }, proven.map((p) => h("li", null, p))),
    h("h3", null, "What it does not prove"),
    h("ul", { id: "not-proven" }, notProven.map((p) => h("li", null, p))),
    h("h3", null, "Checkpoints"),
    h(
      "table",
      { id: "checkpoints" },
      h("thead", null, h("tr", null, ["#", "block", "block time", "records", "period", "tree", "linked", "witnesses"].map((x) => h("th", null, x)))),
      h(
        "tbody",
        null,
        r.checkpoints.map((c, i) =>
          h(
            "tr",
            null,
            h("td", null, i),
            h("td", null, String(c.height)),
            h("td", null, c.blockTime),
            h("td", null, `#${c.firstSeq}–#${c.lastSeq}`),
            h("td", null, `${c.periodStart} – ${c.periodEnd}`),
            h("td", { class: "mono" }, `size ${c.treeSize}, root ${c.root}`),
            h("td", null, c.linked ? (c.firstSeq === 0n ? "first of its epoch" : `extends [${i - 1}]`) : `not proven: ${c.notChecked}`),
            h(
              "td",
              null,
              c.witnesses.length
                ? c.witnesses.map((w) => h("div", null, `${w.name} at ${w.time} (${w.trusted ? "a witness you trust" : "NOT a witness you trust"})`))
                : "none",
            ),
          ),
        ),
      ),
    ),
    h("h3", null, "Clips"),
    h(
      "table",
      { id: "clips" },
      h("thead", null, h("tr", null, ["seq", "start", "length", "bytes", "SHA-256", "codec", "clock", ""].map((x) => h("th", null, x)))),
      h(
        "tbody",
        null,
        r.clips.map((c, i) =>
          h(
            "tr",
            null,
            h("td", null, String(c.seq)),
            h("td", null, c.start),
            h("td", null, `${c.duration.toFixed(3)} s`),
            h("td", null, String(c.size)),
            h("td", { class: "mono" }, c.sha256),
            h("td", null, c.codec),
            h("td", null, c.clock),
            h(
              "td",
              { "data-play": c.revealed ? "revealed" : c.sealed ? "sealed" : "clear" },
              c.sealed && !c.revealed
                ? "sealed: not playable without its key"
                : h("button", { type: "button", "data-clip": i, onclick: () => void play(i) }, c.revealed ? "Play (revealed)" : "Play"),
            ),
          ),
        ),
      ),
    ),
    h("div", { id: "player" }),
  ];
}

async function play(i: number): Promise<void> {
  if (!current) return;
  const b = decodeBundle(current); // the bytes just verified
  const seg = await playable(b, i);
  if (!seg) {
    mount($("player"), h("p", { class: "notice" }, `Clip #${b.clips[i].leafIndex} is end-to-end encrypted and this bundle does not reveal its key: it verifies, but does not play.`));
    return;
  }
  const url = URL.createObjectURL(new Blob([seg.slice()], { type: "video/mp4" }));
  urls.push(url);
  const v = h("video", { controls: true, autoplay: true, src: url, "data-clip": i });
  const what = seg === b.clips[i].segment ? "from the verified bytes" : "decrypted with the segment key the bundle reveals, from the verified sealed bytes";
  mount($("player"), h("p", null, `Clip #${b.clips[i].leafIndex}, ${what}:`), v);
}

async function open(f: File): Promise<void> {
  current = new Uint8Array(await f.arrayBuffer());
  $("source").textContent = `Bundle: ${f.name} (${current.length} bytes), opened from your disk.`;
  void run();
}

function main(): void {
  fillFormFromFragment();
  try {
    current = embedded();
    if (current) $("source").textContent = `Bundle: embedded in this page (${current.length} bytes).`;
  } catch {
    $("source").textContent = "The bundle embedded in this page is not valid base64.";
  }
  $("verify").addEventListener("click", () => void run());
  $("file").addEventListener("change", (e) => {
    const f = (e.target as HTMLInputElement).files?.[0];
    if (f) void open(f);
  });
  void run();
  document.body.dataset.ready = "1";
}

main();
