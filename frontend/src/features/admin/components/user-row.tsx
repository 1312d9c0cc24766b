import { Button, Group, NativeSelect, Table, Text } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { useState } from "react";

import { notifyError } from "@/shared/api/problem";

import { type AdminUser, type AdminUserUpdate, type Role, ROLES, useUpdateUser } from "@/features/admin/api/users";

const STATUS_LABELS: Record<string, string> = {
  active: "Active",
  disabled: "Disabled",
  closed: "Closed",
  erased: "Erased",
};

export function roleLabel(role: string): string {
  return ROLES.find((option) => option.value === role)?.label ?? role;
}

interface UserRowProps {
  user: AdminUser;
  canEdit: boolean;
  /** The stated reason, or null after flagging the Reason field as missing. */
  takeReason: () => string | null;
}

export function UserRow({ user, canEdit, takeReason }: UserRowProps) {
  const [role, setRole] = useState<Role>(user.role);
  const update = useUpdateUser();

  const send = (change: Omit<AdminUserUpdate, "reason">, done: string) => {
    const reason = takeReason();
    if (reason === null) return;
    update.mutate(
      { id: user.id, body: { ...change, reason } },
      {
        onSuccess: (updated) => {
          setRole(updated.role);
          notifications.show({ color: "green", message: `${updated.email}: ${done}.` });
        },
        onError: (error) => notifyError(error),
      },
    );
  };

  const disabled = user.status === "disabled";
  return (
    <Table.Tr>
      <Table.Td>
        <Text size="sm">{user.email}</Text>
      </Table.Td>
      <Table.Td>{user.name}</Table.Td>
      <Table.Td>
        {canEdit ? (
          <Group gap="xs" wrap="nowrap">
            <NativeSelect
              aria-label={`Role for ${user.email}`}
              data={ROLES}
              value={role}
              onChange={(event) => setRole(event.currentTarget.value as Role)}
              size="xs"
            />
            <Button
              size="xs"
              variant="default"
              disabled={role === user.role}
              loading={update.isPending && update.variables?.body.role !== undefined}
              onClick={() => send({ role }, `role is now ${roleLabel(role)}`)}
            >
              Save
            </Button>
          </Group>
        ) : (
          roleLabel(user.role)
        )}
      </Table.Td>
      <Table.Td>
        <Text size="sm" fw={user.status === "active" ? 400 : 700}>
          {STATUS_LABELS[user.status] ?? user.status}
        </Text>
      </Table.Td>
      {canEdit && (
        <Table.Td>
          {user.status !== "closed" && user.status !== "erased" && (
            <Button
              size="xs"
              variant="default"
              loading={update.isPending && update.variables?.body.disabled !== undefined}
              onClick={() =>
                send({ disabled: !disabled }, disabled ? "enabled; they can sign in again" : "disabled and signed out")
              }
            >
              {disabled ? "Enable" : "Disable"}
            </Button>
          )}
        </Table.Td>
      )}
    </Table.Tr>
  );
}
