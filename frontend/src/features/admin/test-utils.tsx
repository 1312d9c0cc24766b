import { MantineProvider } from "@mantine/core";
import { Notifications } from "@mantine/notifications";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render } from "@testing-library/react";
import type { ReactNode } from "react";
import { vi } from "vitest";

export interface MockCall {
  method: string;
  path: string;
  query: URLSearchParams;
  body: unknown;
}

type Handler = (call: MockCall) => Response | undefined;

export function json(body: unknown, status = 200): Response {
  const type = status >= 400 ? "application/problem+json" : "application/json";
  return new Response(status === 204 ? null : JSON.stringify(body), { status, headers: { "Content-Type": type } });
}

/** Stub the global fetch; the first handler answering a request wins; calls are recorded. */
export function mockApi(...handlers: Handler[]): MockCall[] {
  const calls: MockCall[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (input: Request) => {
      const text = await input.text();
      const url = new URL(input.url);
      const body: unknown = text ? JSON.parse(text) : null;
      const call = { method: input.method, path: url.pathname, query: url.searchParams, body };
      calls.push(call);
      for (const handler of handlers) {
        const response = handler(call);
        if (response) return response;
      }
      throw new Error(`unexpected ${call.method} ${call.path}`);
    }),
  );
  return calls;
}

export function route(method: string, path: string, answer: (call: MockCall) => Response): Handler {
  return (call) => (call.method === method && call.path === path ? answer(call) : undefined);
}

export function renderWithProviders(ui: ReactNode) {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false }, mutations: { retry: false } } });
  return render(
    <MantineProvider>
      <Notifications />
      <QueryClientProvider client={client}>{ui}</QueryClientProvider>
    </MantineProvider>,
  );
}
