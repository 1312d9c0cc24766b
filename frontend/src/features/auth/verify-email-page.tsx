import { Alert, Text } from "@mantine/core";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef } from "react";
import { useSearchParams } from "react-router";
import { ProblemError, problemMessage } from "@/shared/api/problem";
import { PageLoader } from "@/shared/components/page-loader";
import { PageTitle } from "@/shared/components/page-title";
import { ME_QUERY_KEY, useMe } from "@/shared/hooks/use-me";
import { verifyEmail } from "./api/auth-api";
import { isBadLink } from "./bad-link";
import { AuthFooter } from "./components/auth-footer";
import { ResendVerification } from "./components/resend-verification";

/** /verify-email?token=...: confirms the address once, then says how it went. */
export function VerifyEmailPage() {
  const [params] = useSearchParams();
  const token = params.get("token") ?? "";
  const queryClient = useQueryClient();
  const me = useMe();
  const sent = useRef<string | null>(null);

  const verify = useMutation({
    mutationFn: (value: string) => verifyEmail(value),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: ME_QUERY_KEY }),
  });
  const { mutate } = verify;

  useEffect(() => {
    // A token works once: never post it twice (StrictMode runs effects twice in development).
    if (token && sent.current !== token) {
      sent.current = token;
      mutate(token);
    }
  }, [token, mutate]);

  const next = me.data ? { to: "/profile", label: "Go to your profile" } : { to: "/sign-in", label: "Sign in" };

  if (!token) {
    return (
      <>
        <PageTitle>Verify your email</PageTitle>
        <Alert color="red" title="This link is incomplete">
          The verification link has no token. Open the link from the email again, or copy the whole address.
        </Alert>
        <AuthFooter links={[next]} />
      </>
    );
  }
  if (verify.isSuccess) {
    return (
      <>
        <PageTitle focusOnMount>Email verified</PageTitle>
        <Text>Your email address {verify.data.email} is verified.</Text>
        <AuthFooter links={[next]} />
      </>
    );
  }
  if (verify.isError) {
    const error = verify.error;
    return (
      <>
        <PageTitle focusOnMount>Verification failed</PageTitle>
        {isBadLink(error) ? (
          <Alert color="red" title="This link is invalid or has expired">
            It may have been used already, replaced by a newer link, or cut short when it was copied.
          </Alert>
        ) : (
          <Alert color="red" title={error instanceof ProblemError ? error.problem.title : "Something went wrong"}>
            {error instanceof ProblemError
              ? problemMessage(error.problem)
              : "The server could not be reached. Reload the page to try again."}
          </Alert>
        )}
        <Text mt="md" mb="sm">
          Links work once and expire after 24 hours. Ask for a new one:
        </Text>
        <ResendVerification email={me.data?.email} label="Send a new link" />
        <AuthFooter links={[next]} />
      </>
    );
  }
  return (
    <>
      <PageTitle>Verify your email</PageTitle>
      <PageLoader label="Verifying your email address" />
    </>
  );
}
