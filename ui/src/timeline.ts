// timeline.ts: one camera's recordings on a time axis, drawn from the hub's
// timeline API (GET /devices/{camera}/timeline, one stream's chain): spans
// of segments coloured by their integrity state, gaps where the camera was
// not recording, alarms from the ledger. Clicking or dragging on it (or the
// keyboard: it is a slider) picks a time; the camera page then plays from
// there through the verified player, which starts at the segment holding
// that time — its first frame is the key frame at or before it.
//
// The integrity state is the hub's check of its records against the
// camera's checkpoints on the ledger (which block, when); the player checks
// every segment it plays in this page on its own.
import { get } from "./api";
import { h, mount } from "./dom";
import type { Stream } from "./feedchain";
import type { SpanState, Timeline, TimelineAlarm, TimelineGap, TimelineSpan } from "./types";

/** The windows a person can choose, ending now. */
export const WINDOWS: [number, string][] = [
  [10 * 60, "Last 10 minutes"],
  [3600, "Last hour"],
  [6 * 3600, "Last 6 hours"],
  [86400, "Last 24 hours"],
];
const MAX_PAGES = 20; // of 1000 spans each: a day of 2 s segments changing state at every one is 43,200
const REFRESH_MS = 15_000;
const KEY_STEP_S = 10;

/** parseTime reads the API's RFC 3339 times, nanoseconds included. */
export const parseTime = (s: string): number => Date.parse(s.replace(/(\.\d{3})\d+/, "$1"));

export interface Window {
  from: number; // ms since the epoch
  to: number;
  spans: TimelineSpan[];
  gaps: TimelineGap[];
  alarms: TimelineAlarm[];
  truncated: boolean;
  live: boolean;
}

/** fetchWindow reads one stream's timeline for [from, to), following its pages. */
export async function fetchWindow(camera: string, stream: Stream, from: Date, to: Date): Promise<Window> {
  const w: Window = { from: from.getTime(), to: to.getTime(), spans: [], gaps: [], alarms: [], truncated: false, live: false };
  let f = from.toISOString();
  for (let page = 0; page < MAX_PAGES; page++) {
    const q = new URLSearchParams({ from: f, to: to.toISOString(), stream });
    const t = await get<Timeline>(`/devices/${camera}/timeline?${q}`);
    if (page === 0) {
      w.from = Math.max(w.from, parseTime(t.from)); // a viewer's history_from
      w.alarms = t.alarms;
      w.truncated = !!t.alarms_truncated;
      w.live = t.live;
    }
    w.spans.push(...t.spans);
    w.gaps.push(...t.gaps);
    if (!t.next) return w;
    f = t.next;
  }
  w.truncated = true;
  return w;
}

const STATE_TEXT: Record<SpanState, string> = {
  verified: "verified",
  pending: "pending (no checkpoint yet)",
  failed: "FAILED",
  pruned: "deleted by retention",
  missing: "MISSING (lost)",
};

const clock = (ms: number) => new Date(ms).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
const stamp = (ms: number) => new Date(ms).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" });
const seqs = (s: TimelineSpan) => (s.first_seq === s.last_seq ? `segment #${s.first_seq}` : `segments #${s.first_seq}–#${s.last_seq}`);

/** integrityText says what a span's state means, naming its checkpoint. */
export function integrityText(s: TimelineSpan): string {
  const ck = s.checkpoint;
  switch (s.state) {
    case "verified":
      return ck ? `verified by checkpoint #${ck.index} at block ${ck.height}, ${stamp(parseTime(ck.time))}` : "verified";
    case "failed":
      return ck ? `FAILED: checkpoint #${ck.index} at block ${ck.height} (${stamp(parseTime(ck.time))}) does not match the hub's records` : "FAILED: a checkpoint does not match the hub's records";
    case "pending":
      return "pending: no checkpoint on the ledger covers it yet";
    case "pruned":
      return "deleted by retention (its signed records remain)";
    case "missing":
      return "MISSING: the files are gone though retention did not delete them";
  }
}

/** describeAt says what the timeline holds at t. */
export function describeAt(w: Window, t: number): string {
  const at = clock(t);
  const s = w.spans.find((s) => parseTime(s.start) <= t && t < parseTime(s.end));
  if (s) return `${at}: recorded, ${seqs(s)}, ${integrityText(s)}.`;
  const g = w.gaps.find((g) => parseTime(g.start) <= t && t < parseTime(g.end));
  if (g) return `${at}: no recording (a gap of ${Math.round(g.seconds)} s: the camera was offline or stopped); playing starts at ${clock(parseTime(g.end))}.`;
  return `${at}: nothing recorded here.`;
}

export interface TimelineView {
  el: HTMLElement;
  /** playhead marks where the player is (null: nowhere). */
  playhead(t: Date | null): void;
  /** reload draws the window again (another stream was chosen). */
  reload(): void;
  stop(): void;
}

/** timeline draws a camera's recordings and calls onPick with the time a
 * person chose to play from. */
export function timeline(camera: string, stream: () => Stream, onPick: (t: Date) => void): TimelineView {
  let win: Window | null = null;
  let cursor = 0; // ms; 0 until the first window is drawn
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  let dragging = false;
  let seq = 0; // loads started: an older answer arriving late is dropped

  const sel = h("select", { id: "tl-window", name: "window" }, ...WINDOWS.map(([s, l]) => h("option", { value: s, selected: s === 3600 }, l)));
  const track = h("div", { class: "tl-track", role: "slider", tabindex: "0", "aria-label": "Recordings timeline", "aria-describedby": "tl-help", "aria-valuemin": "0", "aria-valuemax": "0", "aria-valuenow": "0" });
  const layer = h("div", { class: "tl-layer", "aria-hidden": "true" });
  const cur = h("div", { class: "tl-cursor", "aria-hidden": "true" });
  const head = h("div", { class: "tl-playhead", "aria-hidden": "true", hidden: true });
  track.append(layer, cur, head);
  const axis = h("div", { class: "tl-axis", "aria-hidden": "true" });
  const at = h("p", { class: "tl-at", id: "tl-at", "aria-live": "polite" }, "Loading the timeline…");
  const list = h("div", { class: "tl-list" });
  const summary = h("p", { class: "fine tl-summary" });

  const pct = (t: number) => (win ? ((t - win.from) / (win.to - win.from)) * 100 : 0);
  // Positions go through the CSSOM: the page's CSP (style-src 'self')
  // refuses style attributes.
  const place = <E extends HTMLElement>(el: E, a: number, b?: number): E => {
    const l = Math.min(100, Math.max(0, pct(a)));
    el.style.left = `${l.toFixed(4)}%`;
    if (b !== undefined) el.style.width = `${Math.max(0, Math.min(100, pct(b)) - l).toFixed(4)}%`;
    return el;
  };

  const setCursor = (t: number, announce: boolean) => {
    if (!win) return;
    cursor = Math.min(win.to, Math.max(win.from, t));
    cur.style.left = `${pct(cursor).toFixed(4)}%`;
    const text = describeAt(win, cursor);
    track.setAttribute("aria-valuenow", String(Math.round((cursor - win.from) / 1000)));
    track.setAttribute("aria-valuetext", text);
    track.dataset.cursor = String(cursor);
    if (announce) at.textContent = text;
  };
  const pick = (t: number) => {
    setCursor(t, true);
    onPick(new Date(cursor));
  };

  const draw = (w: Window) => {
    win = w;
    const spans = w.spans.map((s) =>
      place(h("div", {
        class: `tl-span ${s.state}`,
        "data-start": s.start,
        "data-end": s.end,
        "data-state": s.state,
        "data-first-seq": s.first_seq,
        title: `${clock(parseTime(s.start))}–${clock(parseTime(s.end))}: ${seqs(s)}, ${integrityText(s)}`,
      }), parseTime(s.start), parseTime(s.end)),
    );
    const gaps = w.gaps.map((g) => place(h("div", { class: "tl-gap", "data-start": g.start, "data-end": g.end, title: `No recording for ${Math.round(g.seconds)} s` }), parseTime(g.start), parseTime(g.end)));
    const alarms = w.alarms.map((a) => place(h("div", { class: "tl-alarm", "data-time": a.time, "data-kind": a.kind, title: `${clock(parseTime(a.time))}: ${a.kind} ${a.detail}` }), parseTime(a.time)));
    mount(layer, ...spans, ...gaps, ...alarms);
    const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => place(h("span", null, clock(w.from + f * (w.to - w.from))), w.from + f * (w.to - w.from)));
    mount(axis, ...ticks);
    track.setAttribute("aria-valuemax", String(Math.round((w.to - w.from) / 1000)));
    track.setAttribute("aria-label", `Recordings timeline from ${stamp(w.from)} to ${stamp(w.to)}; arrow keys move by ${KEY_STEP_S} s, Enter plays from there`);
    if (!cursor || cursor < w.from) cursor = w.spans.length ? parseTime(w.spans[w.spans.length - 1].start) : w.to;
    setCursor(cursor, !dragging && document.activeElement !== track);
    const recorded = w.spans.reduce((n, s) => n + s.seconds, 0);
    const states = new Map<SpanState, number>();
    for (const s of w.spans) states.set(s.state, (states.get(s.state) ?? 0) + s.segments);
    summary.textContent = w.spans.length
      ? `${Math.round(recorded / 60)} min recorded in ${w.spans.reduce((n, s) => n + s.segments, 0)} segments (${[...states].map(([k, n]) => `${n} ${STATE_TEXT[k]}`).join(", ")}); ${w.gaps.length} gap${w.gaps.length === 1 ? "" : "s"}; ${w.alarms.length}${w.truncated ? "+" : ""} alarm${w.alarms.length === 1 ? "" : "s"}.`
      : "Nothing recorded in this window.";
    renderList(w);
  };

  /** The same facts as a table, each row with a button: the timeline
   * without a pointer or a screen, for screen readers and keyboards. */
  const renderList = (w: Window) => {
    type Row = { t: number; el: HTMLElement };
    const play = (t: number, label: string) => h("button", { type: "button", class: "small", "aria-label": label, onclick: () => pick(t) }, "Play");
    const rows: Row[] = [
      ...w.spans.map((s) => ({
        t: parseTime(s.start),
        el: h("tr", { class: `tl-row ${s.state}`, "data-kind": "span" }, h("td", null, `${clock(parseTime(s.start))}–${clock(parseTime(s.end))}`), h("td", null, `${seqs(s)}`), h("td", { class: `tl-state ${s.state}` }, integrityText(s)), h("td", null, play(parseTime(s.start), `Play from ${clock(parseTime(s.start))}`))),
      })),
      ...w.gaps.map((g) => ({
        t: parseTime(g.start),
        el: h("tr", { class: "tl-row gap", "data-kind": "gap" }, h("td", null, `${clock(parseTime(g.start))}–${clock(parseTime(g.end))}`), h("td", null, `after #${g.after_seq}`), h("td", null, `No recording for ${Math.round(g.seconds)} s`), h("td", null)),
      })),
      ...w.alarms.map((a) => ({
        t: parseTime(a.time),
        el: h("tr", { class: "tl-row alarm-row", "data-kind": "alarm" }, h("td", null, clock(parseTime(a.time))), h("td", null, h("code", null, a.kind)), h("td", null, `Alarm: ${a.detail}`), h("td", null, play(parseTime(a.time), `Play from the alarm at ${clock(parseTime(a.time))}`))),
      })),
    ].sort((a, b) => a.t - b.t);
    mount(
      list,
      rows.length
        ? h(
            "details",
            null,
            h("summary", null, "Recordings, gaps and alarms as a list"),
            h("div", { class: "scroll" }, h("table", null, h("caption", { class: "sr" }, "Recordings, gaps and alarms in this window, oldest first"), h("thead", null, h("tr", null, ...["Time", "Segments", "Integrity", ""].map((t) => h("th", { scope: "col" }, t)))), h("tbody", null, ...rows.map((r) => r.el)))),
          )
        : null,
    );
  };

  const load = async () => {
    clearTimeout(timer);
    if (stopped) return;
    const n = ++seq;
    const to = new Date();
    const from = new Date(to.getTime() - Number(sel.value) * 1000);
    try {
      const w = await fetchWindow(camera, stream(), from, to);
      if (stopped || n !== seq) return;
      track.dataset.stream = stream();
      track.dataset.from = from.toISOString(); // the window asked for
      track.dataset.to = to.toISOString();
      draw(w);
      el.dataset.loaded = String(n);
    } catch (e) {
      if (stopped || n !== seq) return;
      at.textContent = `The timeline could not be loaded: ${e instanceof Error ? e.message : String(e)}`;
    }
    if (!stopped && n === seq) timer = setTimeout(load, REFRESH_MS);
  };
  sel.addEventListener("change", () => {
    cursor = 0;
    load();
  });

  const timeAt = (clientX: number) => {
    const r = track.getBoundingClientRect();
    const f = Math.min(1, Math.max(0, (clientX - r.left) / r.width));
    return win ? win.from + f * (win.to - win.from) : 0;
  };
  track.addEventListener("pointerdown", (e) => {
    if (!win || e.button !== 0) return;
    dragging = true;
    track.setPointerCapture(e.pointerId);
    track.focus({ preventScroll: true });
    setCursor(timeAt(e.clientX), true);
  });
  track.addEventListener("pointermove", (e) => {
    if (dragging) setCursor(timeAt(e.clientX), true);
  });
  const release = (e: PointerEvent, play: boolean) => {
    if (!dragging) return;
    dragging = false;
    if (track.hasPointerCapture(e.pointerId)) track.releasePointerCapture(e.pointerId);
    if (play) pick(timeAt(e.clientX));
  };
  track.addEventListener("pointerup", (e) => release(e, true));
  track.addEventListener("pointercancel", (e) => release(e, false));
  track.addEventListener("keydown", (e) => {
    if (!win) return;
    const span = win.to - win.from;
    const step: Record<string, number> = {
      ArrowLeft: -KEY_STEP_S * 1000,
      ArrowDown: -KEY_STEP_S * 1000,
      ArrowRight: KEY_STEP_S * 1000,
      ArrowUp: KEY_STEP_S * 1000,
      PageDown: -span / 10,
      PageUp: span / 10,
    };
    if (e.key in step) setCursor(cursor + step[e.key] * (e.shiftKey ? 6 : 1), true);
    else if (e.key === "Home") setCursor(win.from, true);
    else if (e.key === "End") setCursor(win.to, true);
    else if (e.key === "Enter" || e.key === " ") pick(cursor);
    else return;
    e.preventDefault();
  });

  const el = h(
    "div",
    { class: "tl" },
    h("div", { class: "row tl-bar" }, h("h3", null, "Recordings"), h("div", { class: "field" }, h("label", { for: "tl-window" }, "Show"), sel)),
    track,
    axis,
    at,
    h("p", { class: "fine", id: "tl-help" }, "Click or drag on the timeline to play from a time, or focus it and use the arrow keys (Shift: 1 minute, Page Up/Down: a tenth), then Enter. Playback starts at the key frame at or before that time."),
    h(
      "ul",
      { class: "tl-legend", "aria-label": "Legend" },
      ...(["verified", "pending", "failed", "pruned"] as SpanState[]).map((s) => h("li", null, h("span", { class: `tl-key ${s}`, "aria-hidden": "true" }), STATE_TEXT[s])),
      h("li", null, h("span", { class: "tl-key gap", "aria-hidden": "true" }), "gap"),
      h("li", null, h("span", { class: "tl-key alarm", "aria-hidden": "true" }, "!"), "alarm"),
    ),
    summary,
    h("p", { class: "fine" }, "Integrity here is the hub's check of its records against the camera's checkpoints on the ledger; the player checks every segment it plays in this page itself."),
    list,
  );
  load();
  return {
    el,
    playhead(t) {
      if (!win || !t || t.getTime() < win.from || t.getTime() > win.to) {
        head.hidden = true;
        return;
      }
      head.hidden = false;
      head.style.left = `${pct(t.getTime()).toFixed(4)}%`;
      head.dataset.time = String(t.getTime());
    },
    reload() {
      cursor = 0;
      load();
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
