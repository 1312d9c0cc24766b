/** What the callback's `error` codes mean, in words for the person who just came back. */
const ERRORS: Record<string, string> = {
  invalid_state: "The connection could not be checked (it was started elsewhere or already used). Please try again.",
  expired_state: "The connection took too long to complete. Please try again.",
  access_denied: "You did not allow access, so nothing was connected.",
  missing_code: "The provider did not complete the connection. Please try again.",
  provider_error: "The provider could not complete the connection. Please try again later.",
  not_configured: "This provider is not set up on this server.",
};

export function errorMessage(code: string): string {
  return ERRORS[code] ?? "The connection did not complete. Please try again.";
}
