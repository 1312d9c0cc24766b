import { Alert, Anchor, Button, Group, List, Stack, Text } from "@mantine/core";
import { Link, useSearchParams } from "react-router";

import { ProblemError, problemMessage } from "@/shared/api/problem";
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

/**
 * /privacy-request/verify?token=...: the emailed link that confirms a request made by email.
 * Opening the page confirms nothing: a mail scanner that follows links and runs scripts must not
 * confirm an erasure a stranger filed. Only the button posts the token.
 */
export function PrivacyRequestVerifyPage() {
  const [params] = useSearchParams();
  const token = params.get("token") ?? "";
  const verify = useVerifyPublicRequest();

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
    // 403: the link was used already (such as a reload after confirming) or has expired; not a failure to alarm about.
    if (error instanceof ProblemError && error.problem.status === 403) {
      return (
        <>
          <PageTitle focusOnMount>Link already used or expired</PageTitle>
          <Alert color="gray" title="Nothing to confirm">
            This link was already used or is no longer valid. If you confirmed your request, we answer by email before
            its due date; there is nothing more to do.
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
        <PageTitle focusOnMount>Confirmation failed</PageTitle>
        <Alert color="red" title={error instanceof ProblemError ? error.problem.title : "Something went wrong"}>
          {error instanceof ProblemError
            ? problemMessage(error.problem)
            : "The server could not be reached. Try again in a moment."}
        </Alert>
        <Group mt="md">
          <Button variant="default" onClick={() => verify.mutate(token)}>
            Try again
          </Button>
        </Group>
        <NewRequestLink />
      </>
    );
  }
  return (
    <>
      <PageTitle>Confirm your request</PageTitle>
      <Stack gap="sm" maw={640}>
        <Text>
          Someone, probably you, asked us through the privacy request form for a copy, a correction or the erasure of
          the data we hold for your email address. The email with this link says which request and its reference.
        </Text>
        <List size="sm" spacing={4}>
          <List.Item>Confirming starts the request and its legal deadline; we answer by email.</List.Item>
          <List.Item>
            For an erasure, the data of the account with this address is erased after a grace period.
          </List.Item>
          <List.Item>If you did not ask for this, close this page: nothing happens and the link expires.</List.Item>
        </List>
        <Group>
          <Button onClick={() => verify.mutate(token)} loading={verify.isPending}>
            Confirm this request
          </Button>
        </Group>
      </Stack>
    </>
  );
}
