import { Anchor, type AnchorProps } from "@mantine/core";
import { useEffect } from "react";

import { CSRF_HEADER, csrfToken } from "@/shared/api/client";

// Loaded on its own after the page: the sign-in route's script budget does not carry the banner.
const loadBanner = () => import("./banner/spa");

function csrfHeaders(): Record<string, string> {
  const token = csrfToken();
  return token ? { [CSRF_HEADER]: token } : {};
}

/** Start the cookie banner once, for every page of the app. Renders nothing itself. */
export function CookieBannerMount() {
  useEffect(() => {
    loadBanner()
      .then((banner) =>
        banner.startBanner({ apiBase: new URL("/api/v1", window.location.origin).href, headers: csrfHeaders }),
      )
      .catch(() => undefined);
  }, []);
  return null;
}

/** After signing in the account's choice applies here: the banner reads it again. */
export function useCookieChoiceOfAccount(userId: string | null) {
  useEffect(() => {
    if (!userId) return;
    loadBanner()
      .then((banner) => banner.refreshBanner())
      .catch(() => undefined);
  }, [userId]);
}

export function openCookieSettings(): void {
  loadBanner()
    .then((banner) => banner.showCookiePreferences())
    .catch(() => undefined);
}

/** "Cookie settings": reopens the banner's preferences. */
export function CookieSettingsLink(props: AnchorProps) {
  return (
    <Anchor component="button" type="button" fz="sm" {...props} onClick={openCookieSettings}>
      Cookie settings
    </Anchor>
  );
}
