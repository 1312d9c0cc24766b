import type { Category, RequestKind, RequestState } from "./api/queue";

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });
const dateTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

export function formatDate(iso: string): string {
  return dateFormat.format(new Date(iso));
}

export function formatDateTime(iso: string): string {
  return dateTimeFormat.format(new Date(iso));
}

export const KINDS: { value: RequestKind; label: string }[] = [
  { value: "export", label: "Export" },
  { value: "erasure", label: "Erasure" },
  { value: "correction", label: "Correction" },
];

export const STATES: { value: RequestState; label: string }[] = [
  { value: "received", label: "Received" },
  { value: "verified", label: "Verified" },
  { value: "in_progress", label: "In progress" },
  { value: "completed", label: "Completed" },
  { value: "denied", label: "Denied" },
  { value: "cancelled", label: "Cancelled" },
  { value: "failed", label: "Failed" },
];

export const CATEGORIES: { value: Category; label: string }[] = [
  { value: "identity", label: "Identity" },
  { value: "contact", label: "Contact" },
  { value: "professional", label: "Professional" },
  { value: "account", label: "Account" },
  { value: "usage", label: "Usage" },
  { value: "device", label: "Device" },
  { value: "consent", label: "Consent" },
  { value: "communications", label: "Communications" },
  { value: "integration", label: "Integrations" },
  { value: "billing", label: "Billing" },
  { value: "security", label: "Security" },
];

export const JURISDICTIONS: Record<string, string> = {
  europe: "EU/EEA, UK or Switzerland",
  california: "California",
  other: "Elsewhere",
};

export const OPEN: ReadonlyArray<RequestState> = ["received", "verified", "in_progress"];

export function kindLabel(kind: string): string {
  return KINDS.find((option) => option.value === kind)?.label ?? kind;
}

export function stateLabel(state: string): string {
  return STATES.find((option) => option.value === state)?.label ?? state;
}

export function jurisdictionLabel(jurisdiction: string): string {
  return JURISDICTIONS[jurisdiction] ?? jurisdiction;
}

/** The first 8 characters of a request id: the reference the requester's emails quote in full. */
export function shortId(id: string): string {
  return id.slice(0, 8);
}

export function categoryLabel(category: string): string {
  return CATEGORIES.find((option) => option.value === category)?.label ?? category;
}
