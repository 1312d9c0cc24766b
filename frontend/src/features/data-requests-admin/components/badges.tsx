import { Badge, Group } from "@mantine/core";

import type { QueuedRequest } from "@/features/data-requests-admin/api/queue";
import { stateLabel } from "@/features/data-requests-admin/format";

/** The state, and "Overdue" or "Due soon" while the request is open. */
export function RequestBadges({ request }: { request: QueuedRequest }) {
  return (
    <Group gap={4} wrap="nowrap">
      <Badge variant="outline" color="dark">
        {stateLabel(request.state)}
      </Badge>
      {request.overdue && (
        <Badge variant="filled" color="red.9" autoContrast>
          Overdue
        </Badge>
      )}
      {!request.overdue && request.due_soon && (
        <Badge variant="filled" color="yellow" autoContrast>
          Due soon
        </Badge>
      )}
    </Group>
  );
}
