import { Button, Group, Stack, Text } from "@mantine/core";
import { useForm } from "@mantine/form";
import { notifications } from "@mantine/notifications";

import { notifyError, ProblemError, showFormError } from "../../../shared/api/problem";
import { PasswordField } from "../../../shared/components/form-fields";

import { useChangePassword } from "../api/security";

interface PasswordValues {
  current_password: string;
  new_password: string;
}

export function PasswordForm() {
  const form = useForm<PasswordValues>({
    initialValues: { current_password: "", new_password: "" },
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
          message: "Your password is changed. Every other session is signed out.",
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
        <Text size="sm">Changing your password signs out every other browser.</Text>
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
        <Group>
          <Button type="submit" loading={change.isPending}>
            Change password
          </Button>
        </Group>
      </Stack>
    </form>
  );
}
