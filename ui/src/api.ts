// api.ts: the hub's API as the logged-in user: every call rides on the
// session cookie, renews it shortly before it expires (or once on a 401),
// and reports a lost session to the app.
import { HttpError, rawCall, renew, type Session } from "./session";

let current: Session | null = null;
let onLost: (why: string) => void = () => {};

export const setSession = (s: Session | null) => (current = s);
export const session = () => current;
export const onSessionLost = (fn: (why: string) => void) => (onLost = fn);

const RENEW_BEFORE_MS = 60_000;

async function fresh(): Promise<Session> {
  if (!current) throw new HttpError(401, "unauthenticated", "not logged in");
  if (current.expires - Date.now() < RENEW_BEFORE_MS) current = await renew(current.address);
  return current;
}

export async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  try {
    const s = await fresh();
    try {
      return await rawCall<T>(method, path, body);
    } catch (e) {
      if (!(e instanceof HttpError) || e.status !== 401) throw e;
      current = await renew(s.address);
      return await rawCall<T>(method, path, body);
    }
  } catch (e) {
    if (e instanceof HttpError && e.status === 401) {
      current = null;
      onLost(e.message);
    }
    throw e;
  }
}

export const get = <T>(path: string) => call<T>("GET", path);
export const post = <T>(path: string, body: unknown) => call<T>("POST", path, body);
