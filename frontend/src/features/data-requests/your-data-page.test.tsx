import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";

import { YourDataPage } from "./your-data-page";
import { aRequest, aSummary, ERASURE_ID, EXPORT_ID, page } from "./test-data";
import { fillIn } from "@/test/fill-in";
import { aUser } from "@/test/fixtures";
import { json, mockApi, renderPage, route } from "@/test/render";

afterEach(() => vi.unstubAllGlobals());

const reauthenticationRequired = {
  type: "https://opmaestro.example/problems/reauthentication-required",
  title: "Re-authentication required",
  status: 403,
  detail: "Enter your password (or a two-factor code) again; it was not entered in the last 10 minutes.",
};
const DAY_MS = 24 * 60 * 60 * 1000;

function me() {
  return route("GET", "/api/v1/me", () => json(aUser()));
}

describe("YourDataPage", () => {
  it("shows what we hold by category, legal holds, and an empty history", async () => {
    mockApi(
      me(),
      route("GET", "/api/v1/me/data", () =>
        json(
          aSummary({
            legal_holds: [{ category: "consent", reason: "Pending litigation 2026-17", since: "2026-11-01T00:00:00Z" }],
          }),
        ),
      ),
      route("GET", "/api/v1/me/data-requests", () => json(page([]))),
    );
    renderPage(<YourDataPage />);

    expect(screen.getByRole("heading", { level: 1, name: "Your data" })).toBeInTheDocument();
    expect(screen.getByRole("status", { name: "Loading your data" })).toBeInTheDocument();
    const contact = (await screen.findByRole("heading", { name: "Contact details" })).closest("li");
    expect(contact).not.toBeNull();
    const card = within(contact as HTMLElement);
    expect(card.getByText("1 record")).toBeInTheDocument();
    expect(card.getByText("To reach you about your account.")).toBeInTheDocument();
    expect(card.getByText("Contract (Art. 6(1)(b))")).toBeInTheDocument();
    expect(card.getByText("Postmark (email delivery)")).toBeInTheDocument();
    expect(card.getByText("While your account is open, then 30 days.")).toBeInTheDocument();
    expect(card.getByText("You, when you signed up")).toBeInTheDocument();
    expect(screen.getByText("12 records")).toBeInTheDocument();
    expect(screen.getByText(/Pending litigation 2026-17/)).toBeInTheDocument();
    expect(screen.getByText("You have not made any requests yet.")).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Request a copy" })).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Erase my data" })).toBeInTheDocument();
  });

  it("says when the data and the requests cannot be loaded, and tries again", async () => {
    let failing = true;
    mockApi(
      me(),
      route("GET", "/api/v1/me/data", () =>
        failing
          ? json({ type: "about:blank", title: "Server error", status: 500, detail: "Try later." }, 500)
          : json(aSummary()),
      ),
      route("GET", "/api/v1/me/data-requests", () =>
        json({ type: "about:blank", title: "Server error", status: 500, detail: "Try later." }, 500),
      ),
    );
    const user = userEvent.setup();
    renderPage(<YourDataPage />);

    const alert = await screen.findByText("Your data could not be loaded");
    expect((await screen.findAllByText("Your requests could not be loaded")).length).toBeGreaterThan(0);
    failing = false;
    await user.click(within(alert.closest("[role=alert]") as HTMLElement).getByRole("button", { name: "Try again" }));
    expect(await screen.findByRole("heading", { name: "Contact details" })).toBeInTheDocument();
  });

  it("asks for the password when the export needs it, retries, follows the progress and offers the download", async () => {
    let reauthenticated = false;
    let created = false;
    let reads = 0;
    const calls = mockApi(
      me(),
      route("GET", "/api/v1/me/data", () => json(aSummary())),
      route("POST", "/api/v1/me/data-requests", () => {
        if (!reauthenticated) return json(reauthenticationRequired, 403);
        created = true;
        return json(aRequest({ state: "in_progress", progress_percent: 5 }), 201);
      }),
      route("POST", "/api/v1/me/reauthenticate", (call) => {
        reauthenticated = (call.body as { password?: string }).password === "correct horse";
        return reauthenticated
          ? json(null, 204)
          : json(
              {
                type: "x/wrong-password",
                title: "Wrong password",
                status: 403,
                detail: "The password is not correct.",
              },
              403,
            );
      }),
      route("GET", "/api/v1/me/data-requests", () =>
        json(page(created ? [aRequest({ state: "in_progress", progress_percent: 5 })] : [])),
      ),
      route("GET", `/api/v1/me/data-requests/${EXPORT_ID}`, () => {
        reads += 1;
        return reads === 1
          ? json(aRequest({ state: "in_progress", progress_percent: 60 }))
          : json(
              aRequest({
                state: "completed",
                progress_percent: 100,
                closed_at: "2026-11-30T10:05:00Z",
                export: { size_bytes: 2_621_440, sha256: "ab".repeat(32), expires_at: "2026-12-07T10:05:00Z" },
              }),
            );
      }),
    );
    const user = userEvent.setup();
    renderPage(<YourDataPage />);

    await user.click(await screen.findByRole("button", { name: "Request a copy" }));
    const dialog = await screen.findByRole("dialog", { name: "Confirm it is you" });
    await fillIn(within(dialog).getByLabelText(/^Password/), "wrong one");
    await user.click(within(dialog).getByRole("button", { name: "Confirm" }));
    expect(await within(dialog).findByText("The password is not correct.")).toBeInTheDocument();

    await fillIn(within(dialog).getByLabelText(/^Password/), "correct horse");
    await user.click(within(dialog).getByRole("button", { name: "Confirm" }));
    await waitFor(() => expect(screen.queryByRole("dialog")).not.toBeInTheDocument());
    const creates = calls.filter((call) => call.method === "POST" && call.path === "/api/v1/me/data-requests");
    expect(creates).toHaveLength(2);
    expect(creates[1]?.body).toEqual({ kind: "export" });

    expect(await screen.findByText("Preparing your copy: 60%")).toBeInTheDocument();
    expect(screen.getByRole("progressbar", { name: "Preparing your copy: 60%" })).toHaveAttribute(
      "aria-valuenow",
      "60",
    );
    const download = await screen.findByRole("link", { name: "Download your data (2.5 MB)" });
    expect(download).toHaveAttribute("href", `/api/v1/me/data-requests/${EXPORT_ID}/download`);
    expect(screen.getByText(/Available until/)).toBeInTheDocument();
    expect(screen.queryByRole("progressbar")).not.toBeInTheDocument();
  });

  it("takes a two-factor code instead of the password, and drops the request when the dialog is cancelled", async () => {
    const calls = mockApi(
      route("GET", "/api/v1/me", () => json(aUser({ mfa_enabled: true }))),
      route("GET", "/api/v1/me/data", () => json(aSummary())),
      route("GET", "/api/v1/me/data-requests", () => json(page([]))),
      route("POST", "/api/v1/me/data-requests", () => json(reauthenticationRequired, 403)),
      route("POST", "/api/v1/me/reauthenticate", () => json(null, 204)),
    );
    const user = userEvent.setup();
    renderPage(<YourDataPage />);

    await user.click(await screen.findByRole("button", { name: "Request a copy" }));
    let dialog = await screen.findByRole("dialog", { name: "Confirm it is you" });
    await user.click(within(dialog).getByRole("button", { name: "Cancel" }));
    await waitFor(() => expect(screen.queryByRole("dialog")).not.toBeInTheDocument());
    expect(calls.filter((call) => call.method === "POST")).toHaveLength(1);

    await user.click(screen.getByRole("button", { name: "Request a copy" }));
    dialog = await screen.findByRole("dialog", { name: "Confirm it is you" });
    await user.click(within(dialog).getByRole("button", { name: "Use a two-factor code instead" }));
    await fillIn(within(dialog).getByLabelText(/^Two-factor code/), "123456");
    await user.click(within(dialog).getByRole("button", { name: "Confirm" }));
    await waitFor(() =>
      expect(calls.find((call) => call.path === "/api/v1/me/reauthenticate")?.body).toEqual({ code: "123456" }),
    );
    await waitFor(() =>
      expect(calls.filter((call) => call.path === "/api/v1/me/data-requests" && call.method === "POST")).toHaveLength(
        3,
      ),
    );
  });

  it("erases only after a confirmation, counts down the grace period and cancels", async () => {
    const eraseAfter = new Date(Date.now() + 14 * DAY_MS - 60_000).toISOString();
    let state: "none" | "scheduled" | "cancelled" = "none";
    const erasure = () =>
      aRequest({
        id: ERASURE_ID,
        kind: "erasure",
        state: state === "cancelled" ? "cancelled" : "in_progress",
        erase_after: eraseAfter,
        closed_at: state === "cancelled" ? "2026-11-30T11:00:00Z" : null,
        legal_holds: [{ category: "consent", reason: "Pending litigation", since: "2026-11-01T00:00:00Z" }],
      });
    const calls = mockApi(
      me(),
      route("GET", "/api/v1/me/data", () => json(aSummary())),
      route("POST", "/api/v1/me/data-requests", () => {
        state = "scheduled";
        return json(erasure(), 201);
      }),
      route("POST", `/api/v1/me/data-requests/${ERASURE_ID}/cancel`, () => {
        state = "cancelled";
        return json(erasure());
      }),
      route("GET", "/api/v1/me/data-requests", () => json(page(state === "none" ? [] : [erasure()]))),
      route("GET", `/api/v1/me/data-requests/${ERASURE_ID}`, () => json(erasure())),
    );
    const user = userEvent.setup();
    renderPage(<YourDataPage />);

    await user.click(await screen.findByRole("button", { name: "Erase my data" }));
    const dialog = await screen.findByRole("dialog", { name: "Erase your data?" });
    await user.click(within(dialog).getByRole("button", { name: "Keep my data" }));
    await waitFor(() => expect(screen.queryByRole("dialog")).not.toBeInTheDocument());
    expect(calls.some((call) => call.method === "POST")).toBe(false);

    await user.click(screen.getByRole("button", { name: "Erase my data" }));
    await user.click(within(await screen.findByRole("dialog")).getByRole("button", { name: "Yes, erase my data" }));
    expect(await screen.findByText("in 13 days")).toBeInTheDocument();
    // The hold names its category as the access report labels it, not by its key.
    expect(screen.getByText("Consent records: Pending litigation")).toBeInTheDocument();
    expect(calls.find((call) => call.method === "POST")?.body).toEqual({ kind: "erasure" });

    await user.click(screen.getByRole("button", { name: "Cancel erasure" }));
    expect(await screen.findByText("Erasure cancelled. Your data stays as it is.")).toBeInTheDocument();
    expect(await screen.findByRole("button", { name: "Erase my data" })).toBeInTheDocument();
    expect(calls.some((call) => call.path === `/api/v1/me/data-requests/${ERASURE_ID}/cancel`)).toBe(true);
  });

  it("sends a correction with its details and fields, and flags what is missing", async () => {
    const calls = mockApi(
      me(),
      route("GET", "/api/v1/me/data", () => json(aSummary())),
      route("GET", "/api/v1/me/data-requests", () => json(page([]))),
      route("POST", "/api/v1/me/data-requests", (call) =>
        json(aRequest({ kind: "correction", state: "verified", ...(call.body as object) }), 201),
      ),
    );
    const user = userEvent.setup();
    renderPage(<YourDataPage />);

    const form = within(await screen.findByRole("form", { name: "Ask for a correction" }));
    await user.click(form.getByRole("button", { name: "Ask for a correction" }));
    expect(form.getByText("Choose at least one kind of data.")).toBeInTheDocument();
    expect(calls.some((call) => call.method === "POST")).toBe(false);

    await user.click(form.getByRole("checkbox", { name: "Date of birth" }));
    await fillIn(form.getByLabelText(/^Details/), "My date of birth is 2 January 1990.");
    await user.click(form.getByRole("button", { name: "Ask for a correction" }));
    expect(await screen.findByText(/Correction requested/)).toBeInTheDocument();
    expect(calls.find((call) => call.method === "POST")?.body).toEqual({
      kind: "correction",
      details: "My date of birth is 2 January 1990.",
      fields: ["date_of_birth"],
    });
  });

  it("lists past requests with state, due date, outcome and the deletion certificate", async () => {
    mockApi(
      me(),
      route("GET", "/api/v1/me/data", () => json(aSummary())),
      route("GET", "/api/v1/me/data-requests", (call) =>
        call.query.get("cursor")
          ? json(
              page([
                aRequest({
                  id: "33333333-0000-4000-8000-000000000003",
                  kind: "correction",
                  state: "denied",
                  outcome: "Not our data.",
                }),
              ]),
            )
          : json(
              page(
                [
                  aRequest({
                    id: ERASURE_ID,
                    kind: "erasure",
                    state: "completed",
                    closed_at: "2026-11-29T09:00:00Z",
                    outcome: "Erased.",
                    certificate: {
                      erased_at: "2026-11-29T09:00:00Z",
                      tables: { user: { rows: 1 }, consent_event: { rows: 4 } },
                      scan: { columns_searched: 80, traces_found: [] },
                    },
                  }),
                  aRequest({ state: "in_progress", extended: true, extension_reason: "Large archive." }),
                ],
                "next",
              ),
            ),
      ),
      route("GET", `/api/v1/me/data-requests/${EXPORT_ID}`, () =>
        json(aRequest({ state: "in_progress", extended: true, extension_reason: "Large archive." })),
      ),
      route("GET", `/api/v1/me/data-requests/${ERASURE_ID}`, () =>
        json(aRequest({ id: ERASURE_ID, kind: "erasure", state: "completed" })),
      ),
    );
    const user = userEvent.setup();
    renderPage(<YourDataPage />);

    const table = await screen.findByRole("table", { name: "Your requests" });
    const rows = within(table).getAllByRole("row");
    expect(rows).toHaveLength(3);
    expect(within(rows[1] as HTMLElement).getByText("Erasure")).toBeInTheDocument();
    expect(within(rows[1] as HTMLElement).getByText("Completed")).toBeInTheDocument();
    expect(
      within(rows[1] as HTMLElement).getByText(/5 rows in 2 tables; verification scan found no trace/),
    ).toBeInTheDocument();
    expect(within(rows[2] as HTMLElement).getByText("Deadline extended: Large archive.")).toBeInTheDocument();
    expect(within(rows[2] as HTMLElement).getByText(/\(extended\)/)).toBeInTheDocument();

    await user.click(screen.getByRole("button", { name: "Load more" }));
    expect(await within(table).findByText("Not our data.")).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Load more" })).not.toBeInTheDocument();
  });
});
