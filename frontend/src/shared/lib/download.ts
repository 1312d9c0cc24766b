/**
 * Save text as a file: a Blob behind an object URL and a temporary `<a download>`, so no
 * inline script or data: URL is needed (the CSP allows script-src 'self' only).
 */
export function downloadText(filename: string, text: string, type: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  link.rel = "noopener";
  link.hidden = true;
  document.body.append(link);
  try {
    link.click();
  } finally {
    link.remove();
    // Revoked on the next tick: some browsers read the URL after click() returns.
    window.setTimeout(() => URL.revokeObjectURL(url), 0);
  }
}
