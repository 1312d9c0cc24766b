import { Alert, Button, Stack, Text } from "@mantine/core";
import { useEffect, useRef } from "react";
import { useParams } from "react-router";

import { ProblemError, problemMessage } from "@/shared/api/problem";
import { PageLoader } from "@/shared/components/page-loader";
import { PageTitle } from "@/shared/components/page-title";

import { usePurposeNames, useUnsubscribe, useUnsubscribeLink } from "./api/unsubscribe";

const INVALID_LINK = "This unsubscribe link is not valid; use the one from the email.";

/** Why a link failed, in words: the server's reason for a bad or unknown link, else a network hint. */
function linkError(error: unknown): string {
  if (error instanceof ProblemError) {
    if (error.status === 400 || error.status === 404) return problemMessage(error.problem);
    if (error.status === 422) return INVALID_LINK;
    return problemMessage(error.problem);
  }
  return "The server could not be reached. Check your connection and try again.";
}

/**
 * `/unsubscribe/:token`, public: the link in a marketing email. Loading it only describes the
 * link; nothing changes until the visitor presses Unsubscribe (mail scanners follow links).
 */
export function UnsubscribePage() {
  const { token = "" } = useParams();
  const link = useUnsubscribeLink(token);
  const names = usePurposeNames();
  const unsubscribe = useUnsubscribe(token);
  const doneRef = useRef<HTMLParagraphElement>(null);

  useEffect(() => {
    if (unsubscribe.isSuccess) doneRef.current?.focus();
  }, [unsubscribe.isSuccess]);

  const purposeName = (key: string) => names.data?.get(key) ?? key.replaceAll("_", " ");

  let content;
  if (link.isPending) {
    content = <PageLoader label="Loading the unsubscribe link" />;
  } else if (link.isError) {
    content = (
      <Alert color="red" title="This unsubscribe link does not work">
        {linkError(link.error)}
      </Alert>
    );
  } else if (unsubscribe.isSuccess) {
    content = (
      <Text ref={doneRef} tabIndex={-1} style={{ outline: "none" }}>
        You are unsubscribed from {purposeName(unsubscribe.data.purpose)}. Service emails about your account will still
        reach you.
      </Text>
    );
  } else if (!link.data.subscribed) {
    content = (
      <Text>
        {link.data.address} is not subscribed to {purposeName(link.data.purpose)}: there is nothing to do. Service
        emails about your account will still reach you.
      </Text>
    );
  } else {
    content = (
      <Stack gap="md">
        <Text>
          Unsubscribe {link.data.address} from {purposeName(link.data.purpose)}? Service emails about your account, such
          as security alerts, will still reach you.
        </Text>
        {unsubscribe.isError && (
          <Alert color="red" title="You could not be unsubscribed">
            {linkError(unsubscribe.error)}
          </Alert>
        )}
        <div>
          <Button loading={unsubscribe.isPending} onClick={() => unsubscribe.mutate()}>
            Unsubscribe
          </Button>
        </div>
      </Stack>
    );
  }

  return (
    <Stack gap="md">
      <PageTitle>Unsubscribe</PageTitle>
      <div role="status" aria-live="polite">
        {unsubscribe.isSuccess ? content : null}
      </div>
      {!unsubscribe.isSuccess && content}
    </Stack>
  );
}
