import type { components } from "@/shared/api/schema";

type CollectionMethod = components["schemas"]["CollectionMethod"];
type ConsentAction = components["schemas"]["ConsentAction"];

export const dateTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
export const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });

export function formatDateTime(iso: string): string {
  return dateTimeFormat.format(new Date(iso));
}

export function formatDate(iso: string): string {
  return dateFormat.format(new Date(iso));
}

const METHODS: Record<CollectionMethod, string> = {
  signup: "sign-up",
  settings: "settings",
  banner: "cookie banner",
  api: "API",
  unsubscribe_link: "unsubscribe link",
  gpc: "Global Privacy Control",
  staff_on_request: "staff, at your request",
  device_link: "sign-in (the device's cookie choice)",
};

const ACTIONS: Record<ConsentAction, string> = {
  granted: "Given",
  denied: "Refused",
  withdrawn: "Withdrawn",
};

/** How a consent was collected, in words: "cookie banner". */
export function methodLabel(method: CollectionMethod): string {
  return METHODS[method] ?? method;
}

export function actionLabel(action: ConsentAction): string {
  return ACTIONS[action] ?? action;
}

export function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
