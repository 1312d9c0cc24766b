import { Anchor, Button, Group, Stack, Text, TextInput } from "@mantine/core";
import { useForm } from "@mantine/form";
import { useState } from "react";

import { ProblemError, showFormError } from "@/shared/api/problem";
import { Dialog } from "@/shared/components/dialog";
import { PasswordField } from "@/shared/components/form-fields";
import { useReauthenticate } from "@/shared/hooks/use-reauthentication";

interface ReauthenticateModalProps {
  opened: boolean;
  /** Two-factor is on: a code from the app (or a recovery code) may replace the password. */
  mfaEnabled: boolean;
  /** What needs it, as in "… need your password again": "Requests about your data". */
  actions: string;
  onCancel: () => void;
  onConfirmed: () => void;
}

/** "Confirm it is you": the password, or a two-factor code, entered again before a sensitive action. */
export function ReauthenticateModal({ opened, mfaEnabled, actions, onCancel, onConfirmed }: ReauthenticateModalProps) {
  const [useCode, setUseCode] = useState(false);
  const reauthenticate = useReauthenticate();
  const form = useForm({
    initialValues: { password: "", code: "" },
    validate: {
      password: (value) => (useCode || value ? null : "Enter your password."),
      code: (value) =>
        !useCode || value.trim().length >= 6 ? null : "Enter the code from your app or a recovery code.",
    },
  });

  const close = () => {
    form.reset();
    onCancel();
  };

  const submit = form.onSubmit((values) => {
    const body = useCode ? { code: values.code.trim() } : { password: values.password };
    reauthenticate.mutate(body, {
      onSuccess: () => {
        form.reset();
        onConfirmed();
      },
      onError: (error) => {
        if (error instanceof ProblemError && (error.is("wrong-password") || error.is("invalid-otp"))) {
          form.setFieldError(useCode ? "code" : "password", error.problem.detail ?? error.problem.title);
          return;
        }
        showFormError(error, form);
      },
    });
  });

  return (
    <Dialog opened={opened} onClose={close} title="Confirm it is you" centered>
      <form noValidate onSubmit={submit} aria-label="Confirm it is you">
        <Stack gap="md">
          <Text size="sm">
            {actions} need your {useCode ? "two-factor code" : "password"} again, so that nobody else can make them from
            a browser you left signed in.
          </Text>
          {useCode ? (
            <TextInput
              label="Two-factor code"
              description="From your authenticator app, or an unused recovery code."
              required
              autoComplete="one-time-code"
              maxLength={20}
              data-autofocus
              {...form.getInputProps("code")}
            />
          ) : (
            <PasswordField
              label="Password"
              required
              autoComplete="current-password"
              data-autofocus
              {...form.getInputProps("password")}
            />
          )}
          {mfaEnabled && (
            <Anchor component="button" type="button" size="sm" onClick={() => setUseCode((value) => !value)}>
              {useCode ? "Use your password instead" : "Use a two-factor code instead"}
            </Anchor>
          )}
          <Group justify="flex-end">
            <Button variant="default" onClick={close}>
              Cancel
            </Button>
            <Button type="submit" loading={reauthenticate.isPending}>
              Confirm
            </Button>
          </Group>
        </Stack>
      </form>
    </Dialog>
  );
}
