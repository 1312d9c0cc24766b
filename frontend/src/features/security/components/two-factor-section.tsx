import { Alert, Button, Code, CopyButton, Group, List, Stack, Text, TextInput } from "@mantine/core";
import { useForm } from "@mantine/form";
import { notifications } from "@mantine/notifications";
import { useQueryClient } from "@tanstack/react-query";
import { QRCodeSVG } from "qrcode.react";
import { useState } from "react";

import { notifyError, ProblemError, showFormError } from "@/shared/api/problem";
import { PasswordField } from "@/shared/components/form-fields";

import { useConfirmTwoFactor, useDisableTwoFactor, useStartTwoFactor } from "@/features/security/api/security";
import { useReauthentication } from "@/shared/hooks/use-reauthentication";
import { Section } from "./section";

function RecoveryCodes({ codes, onDone }: { codes: string[]; onDone: () => void }) {
  return (
    <Alert color="green" title="Two-factor authentication is on" role="status">
      <Stack gap="sm">
        <Text size="sm" fw={600}>
          Store these recovery codes somewhere safe now. Each works once, in place of a code from your app, and you
          won’t see them again.
        </Text>
        <List aria-label="Recovery codes" ff="monospace" size="sm">
          {codes.map((code) => (
            <List.Item key={code}>{code}</List.Item>
          ))}
        </List>
        <Group>
          <CopyButton value={codes.join("\n")}>
            {({ copied, copy }) => (
              <Button onClick={copy} variant={copied ? "outline" : "filled"}>
                {copied ? "Copied" : "Copy recovery codes"}
              </Button>
            )}
          </CopyButton>
          <Button variant="default" onClick={onDone}>
            I have stored them
          </Button>
        </Group>
      </Stack>
    </Alert>
  );
}

function TurnOff() {
  const disable = useDisableTwoFactor();
  const form = useForm({
    initialValues: { password: "", code: "" },
    validate: {
      password: (value) => (value ? null : "Enter your password."),
      code: (value) => (value.trim().length >= 6 ? null : "Enter a code from your app or a recovery code."),
    },
  });
  const submit = form.onSubmit((values) => {
    disable.mutate(
      { password: values.password, code: values.code.trim() },
      {
        onSuccess: () => {
          form.reset();
          notifications.show({ color: "green", message: "Two-factor authentication is off." });
        },
        onError: (error) => {
          if (error instanceof ProblemError && error.is("wrong-password")) {
            form.setFieldError("password", error.problem.detail ?? "The password is not correct.");
          } else if (error instanceof ProblemError && error.is("invalid-otp")) {
            form.setFieldError("code", error.problem.detail ?? "That code is not correct.");
          } else {
            showFormError(error, form);
          }
        },
      },
    );
  });

  return (
    <form onSubmit={submit} noValidate aria-label="Turn off two-factor">
      <Stack gap="sm">
        <Text size="sm">To turn it off, confirm with your password and a code from your app (or a recovery code).</Text>
        <PasswordField
          label="Password"
          required
          autoComplete="current-password"
          w={320}
          {...form.getInputProps("password")}
        />
        <TextInput
          label="Code"
          required
          autoComplete="one-time-code"
          maxLength={20}
          w={240}
          {...form.getInputProps("code")}
        />
        <Group>
          <Button type="submit" color="red" variant="outline" loading={disable.isPending}>
            Turn off two-factor
          </Button>
        </Group>
      </Stack>
    </form>
  );
}

/** Two-factor authentication: required for staff (who cannot turn it off), optional for members. */
export function TwoFactorSection({ enabled, isStaff }: { enabled: boolean; isStaff: boolean }) {
  const queryClient = useQueryClient();
  const start = useStartTwoFactor();
  const confirm = useConfirmTwoFactor();
  const [codes, setCodes] = useState<string[] | null>(null);
  // Turning it on needs the password entered recently (signing in counts); otherwise it is asked for here.
  const reauthentication = useReauthentication(false, "Changes to how you sign in");
  const form = useForm({
    initialValues: { code: "" },
    validate: { code: (value) => (/^\d{6,8}$/.test(value.trim()) ? null : "Enter the 6-digit code from your app.") },
  });

  if (codes) {
    return (
      <Section id="security-two-factor" title="Two-factor authentication">
        <RecoveryCodes
          codes={codes}
          onDone={() => {
            setCodes(null);
            void queryClient.invalidateQueries({ queryKey: ["me"] });
          }}
        />
      </Section>
    );
  }
  if (enabled) {
    return (
      <Section id="security-two-factor" title="Two-factor authentication">
        <Stack gap="sm">
          <Text size="sm">
            Two-factor authentication is on: signing in asks for a code from your authenticator app.
          </Text>
          {isStaff ? (
            <Text size="sm" c="dimmed">
              Staff accounts keep it on.
            </Text>
          ) : (
            <TurnOff />
          )}
        </Stack>
      </Section>
    );
  }

  const enrollment = start.data;
  const begin = () =>
    start.mutate(undefined, {
      onError: (error) => {
        if (!reauthentication.asked(error, begin)) notifyError(error);
      },
    });
  const turnOn = (code: string) =>
    confirm.mutate(code, {
      onSuccess: (result) => {
        form.reset();
        setCodes(result.recovery_codes);
      },
      onError: (error) => {
        if (reauthentication.asked(error, () => turnOn(code))) return;
        if (error instanceof ProblemError && error.is("invalid-otp")) {
          form.setFieldError("code", error.problem.detail ?? "That code is not correct.");
        } else {
          showFormError(error, form);
          return;
        }
        notifyError(error);
      },
    });
  const submit = form.onSubmit((values) => turnOn(values.code.trim()));

  return (
    <Section id="security-two-factor" title="Two-factor authentication">
      <Stack gap="sm">
        {isStaff ? (
          <Alert color="yellow" title="Staff accounts need two-factor authentication">
            Until it is on, staff pages stay closed to you. You need an authenticator app, such as one on your phone.
          </Alert>
        ) : (
          <Text size="sm">
            Protect your account with a second step when you sign in: a code from an authenticator app, such as one on
            your phone.
          </Text>
        )}
        {!enrollment ? (
          <Group>
            <Button loading={start.isPending} onClick={begin}>
              Set up two-factor
            </Button>
          </Group>
        ) : (
          <form onSubmit={submit} noValidate aria-label="Turn on two-factor">
            <Stack gap="sm">
              <Text size="sm">
                Scan this QR code with your authenticator app, or add OpMaestro by hand with the secret key.
              </Text>
              <QRCodeSVG
                value={enrollment.otpauth_uri}
                size={176}
                marginSize={2}
                role="img"
                aria-label="QR code of the two-factor setup link"
              />
              <Text size="sm" fw={600}>
                Secret key
              </Text>
              <Group gap="sm">
                <Code data-testid="totp-secret" style={{ wordBreak: "break-all" }}>
                  {enrollment.secret}
                </Code>
                <CopyButton value={enrollment.secret}>
                  {({ copied, copy }) => (
                    <Button size="xs" variant="default" onClick={copy}>
                      {copied ? "Copied" : "Copy secret key"}
                    </Button>
                  )}
                </CopyButton>
              </Group>
              <TextInput
                label="Authentication code"
                description="The 6-digit code your app shows now."
                required
                inputMode="numeric"
                autoComplete="one-time-code"
                maxLength={8}
                w={240}
                {...form.getInputProps("code")}
              />
              <Group>
                <Button type="submit" loading={confirm.isPending}>
                  Turn on two-factor
                </Button>
              </Group>
            </Stack>
          </form>
        )}
        {reauthentication.modal}
      </Stack>
    </Section>
  );
}
