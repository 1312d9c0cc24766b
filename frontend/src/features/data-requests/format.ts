import type { CorrectableField, DataRequest, RequestKind, RequestState } from "./api/data-requests";

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });
const dateTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const DAY_MS = 24 * 60 * 60 * 1000;

export function formatDate(iso: string): string {
  return dateFormat.format(new Date(iso));
}

export function formatDateTime(iso: string): string {
  return dateTimeFormat.format(new Date(iso));
}

export const KIND_LABELS: Record<RequestKind, string> = {
  export: "Copy of your data",
  erasure: "Erasure",
  correction: "Correction",
};

export const STATE_LABELS: Record<RequestState, string> = {
  received: "Received",
  verified: "Verified",
  in_progress: "In progress",
  completed: "Completed",
  denied: "Denied",
  cancelled: "Cancelled",
  failed: "Failed",
};

export const STATE_COLORS: Record<RequestState, string> = {
  received: "gray.7",
  verified: "blue.8",
  in_progress: "blue.8",
  completed: "teal.9",
  denied: "red.9",
  cancelled: "gray.7",
  failed: "red.9",
};

export const FIELD_LABELS: Record<CorrectableField, string> = {
  name: "Name",
  email: "Email address",
  phone: "Phone number",
  company: "Company",
  job_title: "Job title",
  country: "Country",
  date_of_birth: "Date of birth",
  consent_history: "Consent history",
  activity: "Activity",
  billing: "Billing",
  other: "Something else",
};

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/** "in 13 days", "in 5 hours", "in a few minutes": what is left of a grace period. */
export function timeLeft(iso: string, now: number = Date.now()): string {
  const ms = new Date(iso).getTime() - now;
  if (ms <= 0) return "now";
  const days = Math.floor(ms / DAY_MS);
  if (days >= 1) return `in ${days} ${days === 1 ? "day" : "days"}`;
  const hours = Math.floor(ms / (60 * 60 * 1000));
  if (hours >= 1) return `in ${hours} ${hours === 1 ? "hour" : "hours"}`;
  return "in a few minutes";
}

/** The deletion certificate in one line: when, how many rows in how many tables, what the scan found. */
export function certificateSummary(certificate: DataRequest["certificate"]): string | null {
  if (!certificate) return null;
  const tables = (certificate.tables ?? {}) as Record<string, { rows?: unknown }>;
  let rows = 0;
  for (const table of Object.values(tables)) if (typeof table?.rows === "number") rows += table.rows;
  const parts: string[] = [];
  if (typeof certificate.erased_at === "string") parts.push(`Erased ${formatDateTime(certificate.erased_at)}`);
  parts.push(`${rows} ${rows === 1 ? "row" : "rows"} in ${Object.keys(tables).length} tables`);
  const scan = certificate.scan as { traces_found?: unknown[] } | undefined;
  if (scan && Array.isArray(scan.traces_found)) {
    parts.push(scan.traces_found.length === 0 ? "verification scan found no trace" : "verification scan found traces");
  }
  return parts.join("; ");
}
