import { Button, Text } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { useMutation } from "@tanstack/react-query";
import { notifyError } from "../../../shared/api/problem";
import { PageTitle } from "../../../shared/components/page-title";
import { resendVerification } from "../api/auth-api";
import { AuthFooter } from "./auth-footer";

/** After sign-up: the verification link is on its way. */
export function CheckEmail({ email, detail }: { email: string; detail: string }) {
  const resend = useMutation({
    mutationFn: () => resendVerification(email),
    onSuccess: (result) => notifications.show({ color: "green", title: "Link sent", message: result.detail }),
    onError: (error) => notifyError(error),
  });

  return (
    <>
      <PageTitle focusOnMount>Check your email</PageTitle>
      <Text mb="sm">{detail || "If the address can be used, a verification link is on its way to it."}</Text>
      <Text mb="md">
        Open the link we sent to <strong>{email}</strong> to verify your address, then sign in.
      </Text>
      <Button variant="default" loading={resend.isPending} onClick={() => resend.mutate()}>
        Send the link again
      </Button>
      <AuthFooter links={[{ to: "/sign-in", label: "Sign in" }]} />
    </>
  );
}
