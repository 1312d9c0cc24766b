import { describe, expect, it } from "vitest";
import { fieldErrors, type Problem, ProblemError, problemMessage, toProblem, unwrap } from "./problem";

const validation: Problem = {
  type: "urn:opmaestro:problem:validation",
  title: "Validation failed",
  status: 422,
  detail: "Some fields are missing or invalid.",
  request_id: "req-123",
  errors: [
    { location: "body", field: "email", message: "value is not a valid email address", code: "value_error" },
    { location: "body", field: "email", message: "a second message", code: "value_error" },
    {
      location: "body",
      field: "confirms_age_18_or_over",
      message: "Value error, You must be 18 or older to use OpMaestro.",
      code: "value_error",
    },
    { location: "body", field: "accepted_terms_version", message: "Field required", code: "missing" },
    { location: "body", field: "", message: "Value error, Send at least one field to change.", code: "value_error" },
  ],
};

describe("fieldErrors", () => {
  it("maps each field to its first message, without pydantic's prefix", () => {
    expect(fieldErrors(validation)).toEqual({
      email: "value is not a valid email address",
      confirms_age_18_or_over: "You must be 18 or older to use OpMaestro.",
      accepted_terms_version: "Field required",
    });
  });

  it("renames API fields to form fields with aliases", () => {
    const errors = fieldErrors(new ProblemError(validation), { accepted_terms_version: "accept_terms" });
    expect(errors.accept_terms).toBe("Field required");
    expect(errors).not.toHaveProperty("accepted_terms_version");
  });

  it("gives nothing for a problem without field errors or for other errors", () => {
    expect(fieldErrors({ type: "x", title: "Conflict", status: 409 })).toEqual({});
    expect(fieldErrors(new Error("boom"))).toEqual({});
  });
});

describe("ProblemError", () => {
  it("matches its type by slug and shows detail with the request id", () => {
    const error = new ProblemError({
      type: "urn:opmaestro:problem:mfa-required",
      title: "Two-factor code required",
      status: 401,
    });
    expect(error.is("mfa-required")).toBe(true);
    expect(error.is("required")).toBe(false);
    expect(error.status).toBe(401);
    expect(problemMessage(validation)).toBe("Some fields are missing or invalid. (request id req-123)");
  });
});

describe("unwrap", () => {
  it("returns the data of a successful result", () => {
    expect(unwrap({ data: { ok: 1 }, response: new Response("{}", { status: 200 }) })).toEqual({ ok: 1 });
  });

  it("throws a ProblemError with the problem body", () => {
    const response = new Response("", { status: 422 });
    expect(() => unwrap({ error: validation, response })).toThrow(ProblemError);
    try {
      unwrap({ error: validation, response });
    } catch (error) {
      expect((error as ProblemError).problem.errors).toHaveLength(5);
    }
  });

  it("turns a non-problem error body into a problem with the response status", () => {
    const response = new Response("", { status: 502, statusText: "Bad Gateway", headers: { "X-Request-ID": "r9" } });
    expect(toProblem("<html>", response)).toMatchObject({ status: 502, title: "Bad Gateway", request_id: "r9" });
  });
});
