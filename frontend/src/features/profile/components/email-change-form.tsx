import { Alert, Button, Group, Stack, Text } from "@mantine/core";
import { useForm } from "@mantine/form";
import { useState } from "react";

import { notifyError, ProblemError, showFormError } from "@/shared/api/problem";
import { EmailField, PasswordField } from "@/shared/components/form-fields";

import { useChangeEmail } from "@/features/profile/api/profile";

interface EmailValues {
  new_email: string;
  password: string;
}

export function EmailChangeForm({ currentEmail }: { currentEmail: string }) {
  const [sentTo, setSentTo] = useState<string | null>(null);
  const form = useForm<EmailValues>({
    initialValues: { new_email: "", password: "" },
    validate: {
      new_email: (value) => (/^\S+@\S+\.\S+$/.test(value.trim()) ? null : "Enter an email address."),
      password: (value) => (value ? null : "Enter your current password."),
    },
  });
  const change = useChangeEmail();

  const submit = form.onSubmit((values) => {
    const newEmail = values.new_email.trim();
    change.mutate(
      { new_email: newEmail, password: values.password },
      {
        onSuccess: () => {
          setSentTo(newEmail);
          form.reset();
        },
        onError: (error) => {
          if (error instanceof ProblemError && error.is("wrong-password")) {
            form.setFieldError("password", error.problem.detail ?? "The password is not correct.");
            notifyError(error);
            return;
          }
          showFormError(error, form);
        },
      },
    );
  });

  return (
    <Stack gap="sm">
      <Text size="sm">
        Your email address is <strong>{currentEmail}</strong>. To change it, enter the new address and your current
        password. We send a confirmation link to the new address; the change takes effect once you open it. Your current
        address is told about the request.
      </Text>
      {sentTo && (
        <Alert
          color="green"
          title="Check your inbox"
          role="status"
          withCloseButton
          closeButtonLabel="Dismiss"
          onClose={() => setSentTo(null)}
        >
          We sent a confirmation link to {sentTo}. Your email address changes once you open that link.
        </Alert>
      )}
      <form onSubmit={submit} noValidate aria-label="Change email">
        <Stack gap="sm">
          <EmailField label="New email" {...form.getInputProps("new_email")} />
          <PasswordField
            label="Current password"
            required
            autoComplete="current-password"
            {...form.getInputProps("password")}
          />
          <Group>
            <Button type="submit" loading={change.isPending}>
              Change email
            </Button>
          </Group>
        </Stack>
      </form>
    </Stack>
  );
}
