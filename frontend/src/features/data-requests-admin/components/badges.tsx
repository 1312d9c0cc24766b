import { Badge, Group } from "@mantine/core";

// Mantine cuts a badge's label with an ellipsis when its cell is narrow; show the whole word instead.
const WHOLE = { root: { flexShrink: 0, maxWidth: "none" }, label: { overflow: "visible" } };

import type { QueuedRequest } from "@/features/data-requests-admin/api/queue";
import { stateLabel } from "@/features/data-requests-admin/format";

/** The state, and "Overdue" or "Due soon" while the request is open. */
export function RequestBadges({ request }: { request: QueuedRequest }) {
  return (
    <Group gap={4}>
      <Badge styles={WHOLE} variant="outline" color="dark">
        {stateLabel(request.state)}
      </Badge>
      {request.overdue && (
        <Badge styles={WHOLE} variant="filled" color="red.9" autoContrast>
          Overdue
        </Badge>
      )}
      {!request.overdue && request.due_soon && (
        <Badge styles={WHOLE} variant="filled" color="yellow" autoContrast>
          Due soon
        </Badge>
      )}
    </Group>
  );
}
