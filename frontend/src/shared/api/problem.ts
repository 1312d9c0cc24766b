/**
 * RFC 9457 problem+json errors: `ProblemError`, `unwrap()` for openapi-fetch results,
 * `fieldErrors()` for Mantine `form.setErrors`, and notifications for the rest.
 */
import { notifications } from "@mantine/notifications";

export interface FieldProblem {
  location: string;
  field: string;
  message: string;
  code: string;
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string | null;
  request_id?: string | null;
  errors?: FieldProblem[] | null;
  [extra: string]: unknown;
}

export class ProblemError extends Error {
  readonly problem: Problem;

  constructor(problem: Problem) {
    super(problem.detail || problem.title);
    this.name = "ProblemError";
    this.problem = problem;
  }

  get status(): number {
    return this.problem.status;
  }

  get type(): string {
    return this.problem.type;
  }

  /** True when the problem type ends with the slug, e.g. `is("mfa-required")`. */
  is(slug: string): boolean {
    return (
      this.problem.type === slug || this.problem.type.endsWith(`:${slug}`) || this.problem.type.endsWith(`/${slug}`)
    );
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A `Problem` from whatever an error response held (problem+json, other JSON, text or nothing). */
export function toProblem(body: unknown, response?: Response): Problem {
  const status = response?.status ?? (isObject(body) && typeof body.status === "number" ? body.status : 500);
  if (isObject(body) && typeof body.title === "string") {
    return {
      ...body,
      type: typeof body.type === "string" ? body.type : "about:blank",
      title: body.title,
      status: typeof body.status === "number" ? body.status : status,
      request_id: typeof body.request_id === "string" ? body.request_id : response?.headers.get("X-Request-ID"),
      errors: Array.isArray(body.errors) ? (body.errors as FieldProblem[]) : undefined,
    };
  }
  return {
    type: "about:blank",
    title: response?.statusText || "Request failed",
    status,
    detail: typeof body === "string" && body && body.length < 300 ? body : null,
    request_id: response?.headers.get("X-Request-ID") ?? null,
  };
}

type FetchResult<T> = { data?: T; error?: unknown; response: Response };

/** The data of an openapi-fetch result, or a thrown `ProblemError`. */
export function unwrap<T>(result: FetchResult<T>): T {
  if (result.error !== undefined || !result.response.ok) {
    throw new ProblemError(toProblem(result.error, result.response));
  }
  return result.data as T;
}

/** Pydantic prefixes the messages of value errors; people do not need to read that. */
function cleanMessage(message: string): string {
  return message.replace(/^(Value|Assertion) error, /, "");
}

/**
 * The problem's field errors as `{field: message}` for Mantine `form.setErrors`.
 * `aliases` renames API fields to form fields (e.g. `{accepted_terms_version: "accept_terms"}`).
 * Errors without a field (a whole-body rule) are left out; the first message of a field wins.
 */
export function fieldErrors(source: unknown, aliases: Record<string, string> = {}): Record<string, string> {
  const problem = source instanceof ProblemError ? source.problem : isObject(source) ? (source as Problem) : null;
  const result: Record<string, string> = {};
  for (const error of problem?.errors ?? []) {
    if (!error.field) continue;
    const field = aliases[error.field] ?? error.field;
    if (!(field in result)) result[field] = cleanMessage(error.message);
  }
  return result;
}

/** The text shown for a problem that no field can hold: its detail, and the request id to quote. */
export function problemMessage(problem: Problem): string {
  const detail = problem.detail || problem.title;
  return problem.request_id ? `${detail} (request id ${problem.request_id})` : detail;
}

/** Show a non-field error: a `ProblemError`'s detail with its request id, or a network failure. */
export function notifyError(error: unknown, title?: string): void {
  if (error instanceof ProblemError) {
    notifications.show({ color: "red", title: title ?? error.problem.title, message: problemMessage(error.problem) });
    return;
  }
  notifications.show({
    color: "red",
    title: title ?? "Something went wrong",
    message: "The server could not be reached. Check your connection and try again.",
  });
}

interface FormLike {
  values: object;
  setErrors: (errors: Record<string, string>) => void;
}

/**
 * Put a failed submit's field errors on the form inline; anything that fits no field of the
 * form (or a problem without field errors) is shown as a notification instead.
 */
export function showFormError(error: unknown, form: FormLike, aliases: Record<string, string> = {}): void {
  if (!(error instanceof ProblemError)) {
    notifyError(error);
    return;
  }
  const known = Object.keys(form.values);
  const inline: Record<string, string> = {};
  const leftover: string[] = [];
  for (const [field, message] of Object.entries(fieldErrors(error, aliases))) {
    if (known.includes(field)) inline[field] = message;
    else leftover.push(`${field}: ${message}`);
  }
  const unfielded = (error.problem.errors ?? [])
    .filter((item) => !item.field)
    .map((item) => cleanMessage(item.message));
  form.setErrors(inline);
  if (Object.keys(inline).length === 0 || leftover.length > 0 || unfielded.length > 0) {
    const extra = [...unfielded, ...leftover];
    const problem = extra.length ? { ...error.problem, detail: extra.join(" ") } : error.problem;
    notifications.show({ color: "red", title: error.problem.title, message: problemMessage(problem) });
  }
}
