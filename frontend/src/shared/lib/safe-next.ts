// Backslashes (read as "/" by browsers) and control characters (the URL parser drops tabs and
// newlines, so "/\t/evil.example" would become "//evil.example") have no place in our paths.
// eslint-disable-next-line no-control-regex -- control characters are exactly what it refuses
const UNSAFE = /[\\\u0000-\u001f\u007f-\u009f]/;

/** A path on this origin: one leading "/", not "//", and resolving to this origin. */
function isSameOriginPath(path: string): boolean {
  if (!path.startsWith("/") || path.startsWith("//") || UNSAFE.test(path)) return false;
  try {
    return new URL(path, window.location.origin).origin === window.location.origin;
  } catch {
    return false;
  }
}

/**
 * Where to go after signing in: only a path on this origin, so a crafted `next` cannot send the
 * user to another site.
 */
export function safeNext(next: string | null | undefined, fallback = "/profile"): string {
  if (!next || !isSameOriginPath(next)) return fallback;
  const url = new URL(next, window.location.origin);
  let decoded: string;
  try {
    decoded = decodeURIComponent(url.pathname);
  } catch {
    return fallback;
  }
  // Checked again once normalised ("/.//evil.example/x" becomes "//evil.example/x") and decoded
  // ("/%2F%2Fevil.example" becomes "//evil.example" wherever something decodes it).
  if (!isSameOriginPath(url.pathname) || !isSameOriginPath(decoded)) return fallback;
  return url.pathname + url.search + url.hash;
}

/** The sign-in URL that brings the user back to `path` afterwards. */
export function signInPath(path: string): string {
  return path && path !== "/" && !path.startsWith("/sign-in")
    ? `/sign-in?next=${encodeURIComponent(path)}`
    : "/sign-in";
}
