import { Alert, Button, Code, CopyButton, Group, List, Stack, Text, TextInput } from "@mantine/core";
import { useForm } from "@mantine/form";
import { useQueryClient } from "@tanstack/react-query";
import { useState } from "react";

import { notifyError, ProblemError, showFormError } from "../../../shared/api/problem";

import { useConfirmTwoFactor, useStartTwoFactor } from "../api/security";
import { Section } from "./section";


function RecoveryCodes({ codes, onDone }: { codes: string[]; onDone: () => void }) {
  return (
    <Alert color="green" title="Two-factor authentication is on" role="status">
      <Stack gap="sm">
        <Text size="sm" fw={600}>
          Store these recovery codes somewhere safe now. Each works once, in place of a code from your app, and
          you won’t see them again.
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

export function TwoFactorSection({ enabled }: { enabled: boolean }) {
  const queryClient = useQueryClient();
  const start = useStartTwoFactor();
  const confirm = useConfirmTwoFactor();
  const [codes, setCodes] = useState<string[] | null>(null);
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
  if (enabled) return null;

  const enrollment = start.data;
  const submit = form.onSubmit((values) => {
    confirm.mutate(values.code.trim(), {
      onSuccess: (result) => {
        form.reset();
        setCodes(result.recovery_codes);
      },
      onError: (error) => {
        if (error instanceof ProblemError && error.is("invalid-otp")) {
          form.setFieldError("code", error.problem.detail ?? "That code is not correct.");
        } else {
          showFormError(error, form);
          return;
        }
        notifyError(error);
      },
    });
  });

  return (
    <Section id="security-two-factor" title="Two-factor authentication">
    <Stack gap="sm">
      <Alert color="yellow" title="Staff accounts need two-factor authentication">
        Until it is on, staff pages stay closed to you. You need an authenticator app, such as one on your phone.
      </Alert>
      {!enrollment ? (
        <Group>
          <Button
            loading={start.isPending}
            onClick={() => start.mutate(undefined, { onError: (error) => notifyError(error) })}
          >
            Set up two-factor
          </Button>
        </Group>
      ) : (
        <form onSubmit={submit} noValidate aria-label="Turn on two-factor">
          <Stack gap="sm">
            <Text size="sm">
              Add OpMaestro to your authenticator app with this setup link (most apps accept it pasted, or as a QR
              code made from it), or type in the secret key by hand.
            </Text>
            <Text size="sm" fw={600}>
              Setup link
            </Text>
            <Code block style={{ wordBreak: "break-all", whiteSpace: "pre-wrap" }}>
              {enrollment.otpauth_uri}
            </Code>
            <Text size="sm" fw={600}>
              Secret key
            </Text>
            <Group gap="sm">
              <Code data-testid="totp-secret" style={{ wordBreak: "break-all" }}>{enrollment.secret}</Code>
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
    </Stack>
    </Section>
  );
}
