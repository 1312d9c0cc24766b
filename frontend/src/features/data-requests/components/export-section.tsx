import { Alert, Button, Group, Progress, Stack, Text } from "@mantine/core";
import { notifications } from "@mantine/notifications";

import { type DataRequest, downloadUrl, isOpen, useDataRequest } from "@/features/data-requests/api/data-requests";
import { formatBytes, formatDate, formatDateTime } from "@/features/data-requests/format";

interface ExportSectionProps {
  /** The newest export request, if any. */
  latest: DataRequest | null;
  requesting: boolean;
  onRequest: (onCreated: (request: DataRequest) => void) => void;
}

function ExportProgress({ request }: { request: DataRequest }) {
  const percent = request.progress_percent;
  return (
    <Stack gap={4}>
      <Text size="sm" id="export-progress-label">
        {request.state === "in_progress" ? `Preparing your copy: ${percent}%` : "Your copy is queued."}
      </Text>
      <Progress.Root size="lg">
        <Progress.Section value={percent} aria-labelledby="export-progress-label" animated striped />
      </Progress.Root>
      <Text size="xs" c="gray.7">
        You can leave this page; we also email you when it is ready.
      </Text>
    </Stack>
  );
}

/** "Request a copy": an export's progress while it is written, then its download until it expires. */
export function ExportSection({ latest, requesting, onRequest }: ExportSectionProps) {
  const current = useDataRequest(latest, isOpen);
  const request = current.data ?? latest;
  const open = request !== null && isOpen(request);
  const ready = request?.state === "completed" && request.export ? request.export : null;

  const requestCopy = () =>
    onRequest(() =>
      notifications.show({ color: "green", message: "Your copy is being prepared. It takes a few minutes." }),
    );

  return (
    <Stack gap="sm">
      <Text>
        A ZIP file with everything we hold about you: one JSON file per category, tables as CSV, and a README that
        explains each file.
      </Text>
      {request && open && <ExportProgress request={request} />}
      {request && ready && (
        <Alert color="green" title="Your copy is ready">
          <Stack gap="xs">
            <Group>
              <Button component="a" href={downloadUrl(request.id)} download>
                Download your data ({formatBytes(ready.size_bytes)})
              </Button>
            </Group>
            <Text size="sm">Available until {formatDateTime(ready.expires_at)}; after that, request a new copy.</Text>
            <Text size="xs" c="gray.7" style={{ wordBreak: "break-all" }}>
              SHA-256: {ready.sha256}
            </Text>
          </Stack>
        </Alert>
      )}
      {request?.state === "completed" && !ready && request.closed_at && (
        <Text size="sm" c="gray.7">
          Your last copy, made on {formatDate(request.closed_at)}, has expired.
        </Text>
      )}
      {request?.state === "failed" && (
        <Alert color="red" title="Your last copy could not be made">
          {request.outcome ?? "Something went wrong."} You can ask again.
        </Alert>
      )}
      {!open && (
        <Group>
          <Button onClick={requestCopy} loading={requesting}>
            Request a copy
          </Button>
        </Group>
      )}
    </Stack>
  );
}
