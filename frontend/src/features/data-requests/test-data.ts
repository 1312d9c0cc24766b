import type { DataRequest, DataSummary } from "./api/data-requests";

export const EXPORT_ID = "0b7e1c2d-3f4a-4b5c-8d6e-7f8091a2b3c4";
export const ERASURE_ID = "1c8f2d3e-4a5b-4c6d-9e7f-8091a2b3c4d5";

/** A request as `GET /me/data-requests/{id}` answers it: a fresh export unless told otherwise. */
export function aRequest(overrides: Partial<DataRequest> = {}): DataRequest {
  return {
    id: EXPORT_ID,
    kind: "export",
    state: "in_progress",
    created_at: "2026-11-30T10:00:00Z",
    due_at: "2026-12-30T10:00:00Z",
    extended: false,
    extension_reason: null,
    closed_at: null,
    outcome: null,
    progress_percent: 0,
    erase_after: null,
    fields: [],
    export: null,
    certificate: null,
    legal_holds: [],
    ...overrides,
  };
}

export function aSummary(overrides: Partial<DataSummary> = {}): DataSummary {
  return {
    generated_at: "2026-11-30T12:00:00Z",
    categories: [
      {
        category: "contact",
        label: "Contact details",
        purpose: "To reach you about your account.",
        legal_basis: "Contract (Art. 6(1)(b))",
        recipients: ["Postmark (email delivery)"],
        retention: "While your account is open, then 30 days.",
        source: "You, when you signed up",
        record_count: 1,
        columns: [{ table: "user", column: "email", erasure: "anonymize" }],
      },
      {
        category: "consent",
        label: "Consent records",
        purpose: "To prove what you agreed to.",
        legal_basis: "Legal obligation (Art. 6(1)(c))",
        recipients: [],
        retention: "5 years after withdrawal.",
        source: "Your choices in settings",
        record_count: 12,
        columns: [],
      },
    ],
    legal_holds: [],
    ...overrides,
  };
}

export function page<T>(items: T[], next_cursor: string | null = null) {
  return { items, next_cursor };
}
