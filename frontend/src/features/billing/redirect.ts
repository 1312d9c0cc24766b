/** Send the browser to a Stripe-hosted page (its own module so tests can watch it). */
export function goTo(url: string): void {
  window.location.assign(url);
}
