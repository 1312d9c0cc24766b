import { ProblemError } from "@/shared/api/problem";

/**
 * The emailed link's token was refused: spent, expired or unknown (`invalid-token`), or not even
 * the shape of a token (a `validation` problem on `token`, as when the link was cut short).
 */
export function isBadLink(error: unknown): error is ProblemError {
  if (!(error instanceof ProblemError)) return false;
  if (error.is("invalid-token")) return true;
  return error.is("validation") && (error.problem.errors ?? []).some((problem) => problem.field === "token");
}
