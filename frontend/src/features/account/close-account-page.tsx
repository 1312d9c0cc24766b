import { Alert, Button, Container, Group, List, Modal, Paper, Stack, Text, Title } from "@mantine/core";
import { useForm } from "@mantine/form";
import { notifications } from "@mantine/notifications";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useNavigate } from "react-router";

import { api } from "@/shared/api/client";
import { notifyError, ProblemError, showFormError, unwrap } from "@/shared/api/problem";
import { PasswordField } from "@/shared/components/form-fields";
import { PageTitle } from "@/shared/components/page-title";

const SIGN_IN_PATH = "/sign-in";
const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "long" });

function useCloseAccount() {
  return useMutation({
    mutationFn: async (password: string) => unwrap(await api.DELETE("/api/v1/me", { body: { password } })),
  });
}

export function CloseAccountPage() {
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const close = useCloseAccount();
  const [confirming, setConfirming] = useState(false);
  const [deletionDue, setDeletionDue] = useState<string | null>(null);
  const form = useForm({
    initialValues: { password: "" },
    validate: { password: (value) => (value ? null : "Enter your password to confirm.") },
  });

  const goToSignIn = () => {
    // The session is gone on the server; nothing cached belongs to anyone now.
    queryClient.clear();
    void navigate(SIGN_IN_PATH, { replace: true });
  };

  const closeNow = () => {
    close.mutate(form.getValues().password, {
      onSuccess: (result) => {
        setConfirming(false);
        form.reset();
        const due = dateFormat.format(new Date(result.deletion_due_at));
        setDeletionDue(due);
        notifications.show({
          color: "blue",
          title: "Your account is closed",
          message: `It will be deleted on ${due}. Signing in before then reopens it.`,
          autoClose: false,
        });
      },
      onError: (error) => {
        setConfirming(false);
        if (error instanceof ProblemError && error.is("wrong-password")) {
          form.setFieldError("password", error.problem.detail ?? "The password is not correct.");
          notifyError(error);
          return;
        }
        showFormError(error, form);
      },
    });
  };

  if (deletionDue) {
    return (
      <Container size="sm">
        <Stack gap="lg">
          <PageTitle>Your account is closed</PageTitle>
          <Alert color="blue" title="Deletion is scheduled" role="status">
            <Text size="sm">
              You are signed out everywhere and your API tokens no longer work. Your data will be deleted on{" "}
              <strong>{deletionDue}</strong>. If you sign in before then, your account is reopened.
            </Text>
          </Alert>
          <Group>
            <Button onClick={goToSignIn}>Go to sign-in</Button>
          </Group>
        </Stack>
      </Container>
    );
  }

  return (
    <Container size="sm">
      <Stack gap="lg">
        <PageTitle>Close your account</PageTitle>
        <Paper withBorder p="md" component="section" aria-labelledby="close-consequences">
          <Title order={2} size="h3" id="close-consequences" mb="sm">
            What happens
          </Title>
          <List spacing="xs" size="sm">
            <List.Item>You are signed out on every device at once.</List.Item>
            <List.Item>Every API token you created is revoked, so apps using them stop working.</List.Item>
            <List.Item>
              After a grace period your personal data is deleted for good; we show you the date once the account is
              closed.
            </List.Item>
            <List.Item>Changed your mind? Signing in again before that date reopens the account as it was.</List.Item>
          </List>
        </Paper>
        <form aria-label="Close account" noValidate onSubmit={form.onSubmit(() => setConfirming(true))}>
          <Stack gap="sm">
            <PasswordField
              label="Password"
              description="Enter your password to confirm it is you."
              required
              autoComplete="current-password"
              {...form.getInputProps("password")}
            />
            <Group>
              <Button type="submit" color="red.8">
                Close my account
              </Button>
            </Group>
          </Stack>
        </form>
      </Stack>
      <Modal
        opened={confirming}
        onClose={() => setConfirming(false)}
        title="Are you sure?"
        centered
        closeButtonProps={{ "aria-label": "Dismiss" }}
      >
        <Stack gap="md">
          <Text size="sm">
            You will be signed out everywhere and your API tokens revoked. Your data is deleted after the grace period
            unless you sign in again before it ends.
          </Text>
          <Group justify="flex-end">
            <Button variant="default" onClick={() => setConfirming(false)}>
              Keep my account
            </Button>
            <Button color="red.8" loading={close.isPending} onClick={closeNow}>
              Yes, close it
            </Button>
          </Group>
        </Stack>
      </Modal>
    </Container>
  );
}
