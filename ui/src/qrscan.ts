// qrscan.ts: reads a pairing code from the camera's QR code with this
// device's camera (getUserMedia) and jsQR, a QR decoder in plain
// JavaScript. Loaded on demand (its own chunk): the first load does not
// carry the decoder. The frames never leave the page.
import jsQR from "jsqr";

export interface Scan {
  stop(): void;
}

/** scan shows the camera in video and calls found once with the first QR
 * text that satisfies accept; error with a reason the user can act on. */
export async function scan(video: HTMLVideoElement, accept: (text: string) => boolean, found: (text: string) => void): Promise<Scan> {
  if (!navigator.mediaDevices?.getUserMedia) throw new Error("this browser gives the page no camera (it needs HTTPS, or localhost)");
  let stream: MediaStream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
  } catch (e) {
    const name = (e as DOMException).name;
    throw new Error(name === "NotAllowedError" ? "camera permission was refused" : name === "NotFoundError" ? "no camera found" : String((e as Error).message ?? e));
  }
  video.srcObject = stream;
  video.muted = true;
  video.setAttribute("playsinline", "");
  await video.play();
  const canvas = document.createElement("canvas");
  const ctx = canvas.getContext("2d", { willReadFrequently: true })!;
  let stopped = false;
  let timer = 0;
  const stop = () => {
    stopped = true;
    clearTimeout(timer);
    for (const t of stream.getTracks()) t.stop();
    video.srcObject = null;
  };
  const tick = () => {
    if (stopped) return;
    const w = video.videoWidth, h = video.videoHeight;
    if (w && h) {
      const scale = Math.min(1, 800 / Math.max(w, h));
      canvas.width = Math.round(w * scale);
      canvas.height = Math.round(h * scale);
      ctx.drawImage(video, 0, 0, canvas.width, canvas.height);
      const img = ctx.getImageData(0, 0, canvas.width, canvas.height);
      const r = jsQR(img.data, img.width, img.height, { inversionAttempts: "attemptBoth" });
      if (r && accept(r.data)) {
        stop();
        found(r.data);
        return;
      }
    }
    timer = window.setTimeout(tick, 150);
  };
  tick();
  return { stop };
}
