import { Button, Checkbox, Group, Loader, Stack, Text } from "@mantine/core";
import { type UseFormReturnType, useForm } from "@mantine/form";
import { notifications } from "@mantine/notifications";

import { notifyError, ProblemError, showFormError } from "@/shared/api/problem";
import { PasswordField } from "@/shared/components/form-fields";

import { useChangePassword, useTokens } from "@/features/security/api/security";

interface PasswordValues {
  current_password: string;
  new_password: string;
  keep_token_ids: string[];
}

/** The live API tokens, each with a "keep" box left unticked: revoking is the safe default. */
function TokensToKeep({ form }: { form: UseFormReturnType<PasswordValues> }) {
  const tokens = useTokens();
  if (tokens.isPending) return <Loader size="sm" role="status" aria-label="Loading API tokens" />;
  if (tokens.isError) {
    return (
      <Text size="sm" c="gray.7">
        Your API tokens could not be listed; changing the password revokes them all.
      </Text>
    );
  }
  const rows = tokens.data.pages.flatMap((page) => page.items);
  if (rows.length === 0) return null;
  return (
    <Checkbox.Group
      label="API tokens to keep"
      description="Tokens you leave unticked are revoked: anyone who had your old password may have made them."
      {...form.getInputProps("keep_token_ids")}
    >
      <Stack gap={6} mt={6}>
        {rows.map((row) => (
          <Checkbox key={row.id} value={row.id} label={`Keep this token: ${row.name} (…${row.hint})`} />
        ))}
        {tokens.hasNextPage && (
          <Group>
            <Button
              size="xs"
              variant="default"
              loading={tokens.isFetchingNextPage}
              onClick={() => void tokens.fetchNextPage()}
            >
              Show more tokens
            </Button>
          </Group>
        )}
      </Stack>
    </Checkbox.Group>
  );
}

export function PasswordForm() {
  const form = useForm<PasswordValues>({
    initialValues: { current_password: "", new_password: "", keep_token_ids: [] },
    validate: {
      current_password: (value) => (value ? null : "Enter your current password."),
      new_password: (value) => (value ? null : "Choose a new password."),
    },
  });
  const change = useChangePassword();

  const submit = form.onSubmit((values) => {
    change.mutate(values, {
      onSuccess: () => {
        form.reset();
        notifications.show({
          color: "green",
          message:
            "Your password is changed. Every other session is signed out, and the API tokens you did not keep are revoked.",
        });
      },
      onError: (error) => {
        if (error instanceof ProblemError && error.is("wrong-password")) {
          form.setFieldError("current_password", error.problem.detail ?? "The password is not correct.");
        } else {
          showFormError(error, form);
          return;
        }
        notifyError(error);
      },
    });
  });

  return (
    <form onSubmit={submit} noValidate aria-label="Change password">
      <Stack gap="sm">
        <Text size="sm">
          Changing your password signs out every other browser, cancels the links we have emailed you, and revokes your
          API tokens unless you keep them.
        </Text>
        <PasswordField
          label="Current password"
          required
          autoComplete="current-password"
          {...form.getInputProps("current_password")}
        />
        <PasswordField
          label="New password"
          required
          autoComplete="new-password"
          description="Long and unique: a passphrase of several words works well."
          {...form.getInputProps("new_password")}
        />
        <TokensToKeep form={form} />
        <Group>
          <Button type="submit" loading={change.isPending}>
            Change password
          </Button>
        </Group>
      </Stack>
    </form>
  );
}
