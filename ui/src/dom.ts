// dom.ts: a ten-line hyperscript instead of a framework. The whole UI is a
// few views re-rendered on navigation; a framework's runtime would be most
// of the first load (SPEC §12 keeps it under 300 KB with the crypto).
type Child = Node | string | number | null | undefined | false | Child[];
type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs?: Attrs | null, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v as EventListener);
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function append(el: Node, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.appendChild(typeof c === "object" ? c : document.createTextNode(String(c)));
  }
}

export function mount(root: HTMLElement, ...children: Child[]): void {
  root.replaceChildren();
  append(root, children);
}

/** A live region for outcomes: screen readers announce what changed. */
export function notice(kind: "ok" | "error" | "info", text: string): HTMLElement {
  return h("p", { class: "notice " + kind, role: kind === "error" ? "alert" : "status" }, text);
}

export const fmtTime = (s?: string): string => {
  if (!s) return "—";
  const d = new Date(s);
  return isNaN(d.getTime()) ? s : d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
};

export function fmtDuration(sec: number): string {
  if (!sec) return "—";
  const units: [number, string][] = [
    [86400, "d"],
    [3600, "h"],
    [60, "min"],
    [1, "s"],
  ];
  for (const [n, u] of units) if (sec % n === 0 && sec >= n) return `${sec / n} ${u}`;
  return `${sec} s`;
}
