import { useEffect } from "react";
import { useLocation } from "react-router";

const PRODUCT = "OpMaestro";
const WAIT_MS = 5000;

function focusHeading(heading: HTMLElement): void {
  if (!heading.hasAttribute("tabindex")) heading.tabIndex = -1;
  heading.focus();
  const text = heading.textContent?.trim();
  document.title = text ? `${text} · ${PRODUCT}` : PRODUCT;
}

/**
 * On each route change, move focus to the new page's h1 (as a screen reader user expects
 * after navigation) and name the tab after it. Lazy pages render their h1 a moment later,
 * so it waits for one to appear.
 */
export function RouteFocus() {
  const { pathname } = useLocation();

  useEffect(() => {
    const find = () => document.querySelector<HTMLElement>("main h1") ?? document.querySelector<HTMLElement>("h1");
    const now = find();
    if (now) {
      focusHeading(now);
      return;
    }
    const observer = new MutationObserver(() => {
      const heading = find();
      if (heading) {
        observer.disconnect();
        focusHeading(heading);
      }
    });
    observer.observe(document.body, { childList: true, subtree: true });
    const timer = window.setTimeout(() => observer.disconnect(), WAIT_MS);
    return () => {
      observer.disconnect();
      window.clearTimeout(timer);
    };
  }, [pathname]);

  return null;
}
