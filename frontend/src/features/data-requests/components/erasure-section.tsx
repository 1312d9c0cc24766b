import { Alert, Button, Group, List, Stack, Text } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { useEffect, useState } from "react";

import { notifyError } from "@/shared/api/problem";

import {
  type DataRequest,
  isOpen,
  useCancelRequest,
  useDataRequest,
  useMyData,
} from "@/features/data-requests/api/data-requests";
import { formatDateTime, timeLeft } from "@/features/data-requests/format";
import { Dialog } from "@/shared/components/dialog";

const MINUTE_MS = 60_000;

interface ErasureSectionProps {
  /** The newest erasure request, if any. */
  latest: DataRequest | null;
  requesting: boolean;
  onRequest: (onCreated: (request: DataRequest) => void) => void;
}

/** The time now, updated every minute, for the countdown. */
function useNow(): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = window.setInterval(() => setNow(Date.now()), MINUTE_MS);
    return () => window.clearInterval(timer);
  }, []);
  return now;
}

// Until the erasure job has run once, the request has no erasure time yet.
const waitingForSchedule = (request: DataRequest) => isOpen(request) && request.erase_after === null;

function Scheduled({ request }: { request: DataRequest }) {
  const now = useNow();
  const cancel = useCancelRequest();
  // The access report labels each category ("Billing", "How to reach you"); holds carry only its key.
  const summary = useMyData();
  const categoryLabel = (category: string) =>
    summary.data?.categories.find((item) => item.category === category)?.label ?? category;
  const eraseAfter = request.erase_after;
  const begun = eraseAfter !== null && new Date(eraseAfter).getTime() <= now;

  const cancelErasure = () =>
    cancel.mutate(request.id, {
      onSuccess: () => notifications.show({ color: "green", message: "Erasure cancelled. Your data stays as it is." }),
      onError: (error) => notifyError(error, "The erasure could not be cancelled"),
    });

  return (
    <Alert color="red" title={begun ? "Your data is being erased" : "Your data will be erased"} role="status">
      <Stack gap="xs">
        {eraseAfter === null ? (
          <Text size="sm">Your erasure is being scheduled; the date appears here in a moment.</Text>
        ) : begun ? (
          <Text size="sm">The grace period has ended; erasure has begun and can no longer be cancelled.</Text>
        ) : (
          <Text size="sm">
            Erasure starts <strong>{timeLeft(eraseAfter, now)}</strong>, on {formatDateTime(eraseAfter)}. Until then you
            can change your mind.
          </Text>
        )}
        {request.legal_holds.length > 0 && (
          <>
            <Text size="sm">We must keep some data for a legal reason:</Text>
            <List size="sm">
              {request.legal_holds.map((hold) => (
                <List.Item key={`${hold.category}-${hold.since}`}>
                  {categoryLabel(hold.category)}: {hold.reason}
                </List.Item>
              ))}
            </List>
          </>
        )}
        {!begun && (
          <Group>
            <Button variant="default" onClick={cancelErasure} loading={cancel.isPending}>
              Cancel erasure
            </Button>
          </Group>
        )}
      </Stack>
    </Alert>
  );
}

/** "Erase my data": a confirmation, then the grace-period countdown with a cancel button. */
export function ErasureSection({ latest, requesting, onRequest }: ErasureSectionProps) {
  const [confirming, setConfirming] = useState(false);
  const current = useDataRequest(latest, waitingForSchedule);
  const request = current.data ?? latest;

  if (request && isOpen(request)) return <Scheduled request={request} />;

  const erase = () => {
    setConfirming(false);
    onRequest(() =>
      notifications.show({ color: "blue", message: "Erasure scheduled. You can cancel it until it starts." }),
    );
  };

  return (
    <Stack gap="sm">
      <Text>
        We delete or anonymize everything we hold about you, except what the law makes us keep, and close your account.
        You get a grace period to change your mind, then a deletion certificate.
      </Text>
      <Group>
        <Button color="red.8" onClick={() => setConfirming(true)} loading={requesting}>
          Erase my data
        </Button>
      </Group>
      <Dialog opened={confirming} onClose={() => setConfirming(false)} title="Erase your data?" centered>
        <Stack gap="md">
          <List size="sm" spacing="xs">
            <List.Item>Your account, profile, consents, sessions and API tokens are deleted or anonymized.</List.Item>
            <List.Item>You are signed out everywhere and cannot sign in again.</List.Item>
            <List.Item>This cannot be undone once the grace period ends; until then you can cancel here.</List.Item>
          </List>
          <Group justify="flex-end">
            <Button variant="default" onClick={() => setConfirming(false)}>
              Keep my data
            </Button>
            <Button color="red.8" onClick={erase}>
              Yes, erase my data
            </Button>
          </Group>
        </Stack>
      </Dialog>
    </Stack>
  );
}
