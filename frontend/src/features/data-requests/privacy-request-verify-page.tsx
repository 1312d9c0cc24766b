import { Alert, Anchor, Text } from "@mantine/core";
import { useEffect, useRef } from "react";
import { Link, useSearchParams } from "react-router";

import { ProblemError, problemMessage } from "@/shared/api/problem";
import { PageLoader } from "@/shared/components/page-loader";
import { PageTitle } from "@/shared/components/page-title";

import { useVerifyPublicRequest } from "./api/data-requests";

function NewRequestLink() {
  return (
    <Text size="sm" mt="md">
      <Anchor component={Link} to="/privacy-request">
        Make a new privacy request
      </Anchor>
    </Text>
  );
}

/** /privacy-request/verify?token=...: the emailed link that confirms a request made by email. */
export function PrivacyRequestVerifyPage() {
  const [params] = useSearchParams();
  const token = params.get("token") ?? "";
  const verify = useVerifyPublicRequest();
  const sent = useRef<string | null>(null);
  const { mutate } = verify;

  useEffect(() => {
    // A token works once: never post it twice (StrictMode runs effects twice in development).
    if (token && sent.current !== token) {
      sent.current = token;
      mutate(token);
    }
  }, [token, mutate]);

  if (!token) {
    return (
      <>
        <PageTitle>Confirm your request</PageTitle>
        <Alert color="red" title="This link is incomplete">
          The link has no token. Open the link from the email again, or copy the whole address.
        </Alert>
        <NewRequestLink />
      </>
    );
  }
  if (verify.isSuccess) {
    return (
      <>
        <PageTitle focusOnMount>Request confirmed</PageTitle>
        <Alert color="green" title="Thank you" role="status">
          {verify.data.detail}
        </Alert>
      </>
    );
  }
  if (verify.isError) {
    const error = verify.error;
    return (
      <>
        <PageTitle focusOnMount>Confirmation failed</PageTitle>
        <Alert color="red" title={error instanceof ProblemError ? error.problem.title : "Something went wrong"}>
          {error instanceof ProblemError
            ? problemMessage(error.problem)
            : "The server could not be reached. Reload the page to try again."}
        </Alert>
        <Text size="sm" mt="md">
          Links work once and expire after 24 hours.
        </Text>
        <NewRequestLink />
      </>
    );
  }
  return (
    <>
      <PageTitle>Confirm your request</PageTitle>
      <PageLoader label="Confirming your request" />
    </>
  );
}
