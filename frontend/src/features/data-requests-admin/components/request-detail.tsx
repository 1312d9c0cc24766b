import {
  Alert,
  Button,
  CloseButton,
  Group,
  Loader,
  Paper,
  SimpleGrid,
  Stack,
  Text,
  Textarea,
  Title,
} from "@mantine/core";
import { useForm } from "@mantine/form";
import { notifications } from "@mantine/notifications";
import type { ReactNode } from "react";

import { showFormError } from "@/shared/api/problem";

import {
  type Opened,
  type QueuedRequestDetail,
  type StaffAction,
  useQueuedRequest,
  useStaffAction,
} from "@/features/data-requests-admin/api/queue";
import { formatDate, formatDateTime, jurisdictionLabel, kindLabel, OPEN } from "@/features/data-requests-admin/format";
import { AuditTrail } from "./audit-trail";
import { RequestBadges } from "./badges";
import { LegalHolds } from "./legal-holds";

const REASON_MIN = 5;

function Fact({ term, children }: { term: string; children: ReactNode }) {
  return (
    <div>
      <Text component="dt" size="xs" fw={700} c="gray.7">
        {term}
      </Text>
      <Text component="dd" size="sm" m={0} style={{ whiteSpace: "pre-wrap", overflowWrap: "anywhere" }}>
        {children}
      </Text>
    </div>
  );
}

function Actions({ request, opened }: { request: QueuedRequestDetail; opened: Opened }) {
  const action = useStaffAction(opened);
  const form = useForm({ initialValues: { reason: "", resolution: "" } });
  const open = OPEN.includes(request.state);
  const correctable =
    request.kind === "correction" && (request.state === "verified" || request.state === "in_progress");

  const run = (change: StaffAction, done: string) =>
    action.mutate(change, {
      onSuccess: () => {
        form.reset();
        notifications.show({ color: "green", message: done });
      },
      onError: (error) => showFormError(error, form),
    });

  const withReason = (kind: "deny" | "extend") => {
    const reason = form.getValues().reason.trim();
    if (reason.length < REASON_MIN) {
      form.setFieldError("reason", `Give a reason (at least ${REASON_MIN} characters); the requester receives it.`);
      return;
    }
    run({ action: kind, reason }, kind === "deny" ? "The request is denied." : "The deadline is extended.");
  };

  const resolve = () => {
    const resolution = form.getValues().resolution.trim();
    if (resolution.length < REASON_MIN) {
      form.setFieldError("resolution", `Say what was corrected (at least ${REASON_MIN} characters).`);
      return;
    }
    run({ action: "resolve", resolution }, "The correction is recorded and the request completed.");
  };

  if (!open) return <Text size="sm">This request is closed; nothing more can be done.</Text>;
  const busy = (name: StaffAction["action"]) => action.isPending && action.variables?.action === name;
  return (
    <Stack gap="sm">
      {request.state === "received" && (
        <Group>
          <Button
            loading={busy("verify")}
            onClick={() => run({ action: "verify" }, "Identity verified; the work starts.")}
          >
            Verify identity
          </Button>
          <Text size="sm" c="gray.7">
            Only once you have checked who the requester is.
          </Text>
        </Group>
      )}
      {correctable && (
        <>
          <Textarea
            label="Resolution"
            description="What you corrected, or why nothing needed to change; the requester is told."
            autosize
            minRows={2}
            maxLength={2000}
            {...form.getInputProps("resolution")}
          />
          <Group>
            <Button loading={busy("resolve")} onClick={resolve}>
              Resolve correction
            </Button>
          </Group>
        </>
      )}
      <Textarea
        label="Reason"
        description="For a denial or an extension; emailed to the requester and audited."
        autosize
        minRows={2}
        maxLength={1000}
        {...form.getInputProps("reason")}
      />
      <Group>
        {!request.extended && (
          <Button variant="default" loading={busy("extend")} onClick={() => withReason("extend")}>
            Extend deadline
          </Button>
        )}
        <Button color="red.8" variant="outline" loading={busy("deny")} onClick={() => withReason("deny")}>
          Deny request
        </Button>
      </Group>
    </Stack>
  );
}

interface RequestDetailProps {
  opened: Opened;
  onClose: () => void;
}

/** One request as staff see it once they have stated why: requester, details, actions, holds, audit trail. */
export function RequestDetail({ opened, onClose }: RequestDetailProps) {
  const detail = useQueuedRequest(opened);

  let body: ReactNode;
  if (detail.isPending) body = <Loader size="sm" role="status" aria-label="Opening the request" />;
  else if (detail.isError) {
    body = (
      <Alert color="red" title="The request could not be opened">
        {detail.error.message}
      </Alert>
    );
  } else {
    const request = detail.data;
    body = (
      <Stack gap="lg">
        <Group gap="sm">
          <RequestBadges request={request} />
        </Group>
        <SimpleGrid component="dl" cols={{ base: 1, sm: 2 }} spacing="sm" m={0}>
          <Fact term="Requester">{request.email ?? "(no address kept)"}</Fact>
          <Fact term="Account">{request.user_id ? "Yes" : "No: made by email"}</Fact>
          <Fact term="Received">{formatDateTime(request.created_at)}</Fact>
          <Fact term="Due">
            {formatDate(request.due_at)}
            {request.extended && ` (extended: ${request.extension_reason ?? "no reason given"})`}
          </Fact>
          <Fact term="Jurisdiction">{jurisdictionLabel(request.jurisdiction)}</Fact>
          <Fact term="Reference">{request.id}</Fact>
          <Fact term="Verified">{request.verified_at ? formatDateTime(request.verified_at) : "Not yet"}</Fact>
          {request.fields.length > 0 && <Fact term="Fields">{request.fields.join(", ")}</Fact>}
          <Fact term="Details">{request.details ?? "—"}</Fact>
          {request.kind === "erasure" && (
            <Fact term="Erase after (end of the grace period)">
              {request.erase_after ? formatDateTime(request.erase_after) : "Not scheduled"}
            </Fact>
          )}
          {request.outcome && <Fact term="Outcome">{request.outcome}</Fact>}
        </SimpleGrid>
        <section aria-labelledby="request-actions">
          <Title order={3} size="h4" id="request-actions" mb="xs">
            Actions
          </Title>
          <Actions request={request} opened={opened} />
        </section>
        {request.user_id && (
          <section aria-labelledby="request-holds">
            <Title order={3} size="h4" id="request-holds" mb="xs">
              Legal holds
            </Title>
            <LegalHolds userId={request.user_id} reason={opened.reason} />
          </section>
        )}
        <section aria-labelledby="request-audit">
          <Title order={3} size="h4" id="request-audit" mb="xs">
            Audit trail
          </Title>
          <AuditTrail requestId={request.id} reason={opened.reason} />
        </section>
      </Stack>
    );
  }

  return (
    <Paper withBorder p="md" component="section" aria-labelledby="request-detail-title">
      <Group justify="space-between" mb="sm">
        <Title order={2} size="h3" id="request-detail-title">
          {detail.data ? `${kindLabel(detail.data.kind)} request` : "Request"}
        </Title>
        <CloseButton aria-label="Close the request" onClick={onClose} />
      </Group>
      {body}
    </Paper>
  );
}
