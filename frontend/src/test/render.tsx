import { MantineProvider } from "@mantine/core";
import { Notifications } from "@mantine/notifications";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render } from "@testing-library/react";
import type { ReactNode } from "react";
import { MemoryRouter, Route, Routes } from "react-router";
import { vi } from "vitest";

export interface MockCall {
  method: string;
  path: string;
  search: string;
  query: URLSearchParams;
  headers: Headers;
  body: unknown;
}

type Handler = (call: MockCall) => Response | undefined;

export function json(body: unknown, status = 200): Response {
  const type = status >= 400 ? "application/problem+json" : "application/json";
  return new Response(status === 204 ? null : JSON.stringify(body), { status, headers: { "Content-Type": type } });
}

/** Stub the global fetch: the first handler that answers wins; every call is recorded. */
export function mockApi(...handlers: Handler[]): MockCall[] {
  const calls: MockCall[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (input: Request) => {
      const text = await input.text();
      const url = new URL(input.url);
      const call = {
        method: input.method,
        path: url.pathname,
        search: url.search,
        query: url.searchParams,
        headers: input.headers,
        body: text ? (JSON.parse(text) as unknown) : null,
      };
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

/** Render with Mantine, notifications, a fresh query client and a memory router at `path`. */
export function renderPage(ui: ReactNode, { path = "/", at = "/" }: { path?: string; at?: string } = {}) {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false }, mutations: { retry: false } } });
  const view = render(
    <MantineProvider>
      <Notifications />
      <QueryClientProvider client={client}>
        <MemoryRouter initialEntries={[at]}>
          <Routes>
            <Route path={path} element={ui} />
            <Route path="*" element={<p>elsewhere</p>} />
          </Routes>
        </MemoryRouter>
      </QueryClientProvider>
    </MantineProvider>,
  );
  return { ...view, client };
}
