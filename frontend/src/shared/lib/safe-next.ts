/**
 * Where to go after signing in: only a same-origin relative path (one leading "/", not "//"
 * or "/\"), so a crafted `next` cannot send the user to another site.
 */
export function safeNext(next: string | null | undefined, fallback = "/profile"): string {
  if (!next || !next.startsWith("/") || next.startsWith("//") || next.startsWith("/\\")) return fallback;
  // eslint-disable-next-line no-control-regex -- control characters are exactly what it refuses
  if (/[\u0000-\u001f]/.test(next)) return fallback;
  try {
    const url = new URL(next, "http://same.invalid");
    if (url.origin !== "http://same.invalid") return fallback;
    return url.pathname + url.search + url.hash;
  } catch {
    return fallback;
  }
}

/** The sign-in URL that brings the user back to `path` afterwards. */
export function signInPath(path: string): string {
  return path && path !== "/" && !path.startsWith("/sign-in")
    ? `/sign-in?next=${encodeURIComponent(path)}`
    : "/sign-in";
}
