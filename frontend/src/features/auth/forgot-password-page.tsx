import { Button, Stack, Text } from "@mantine/core";
import { useForm } from "@mantine/form";
import { useMutation } from "@tanstack/react-query";
import { showFormError } from "@/shared/api/problem";
import { EmailField, emailAddressError } from "@/shared/components/form-fields";
import { PageTitle } from "@/shared/components/page-title";
import { forgotPassword } from "./api/auth-api";
import { AuthFooter } from "./components/auth-footer";

const CONFIRMATION = "If an account uses this address, a reset link is on its way.";

/** Ask for a reset link; the answer is the same whether or not the account exists. */
export function ForgotPasswordPage() {
  const form = useForm({
    initialValues: { email: "" },
    validate: { email: emailAddressError },
  });
  const send = useMutation({
    mutationFn: (email: string) => forgotPassword(email),
    onError: (error) => showFormError(error, form),
  });

  if (send.isSuccess) {
    return (
      <>
        <PageTitle focusOnMount>Check your email</PageTitle>
        <Text>{send.data.detail || CONFIRMATION}</Text>
        <Text mt="sm" fz="sm" c="dimmed">
          The link works for one hour.
        </Text>
        <AuthFooter links={[{ to: "/sign-in", label: "Sign in" }]} />
      </>
    );
  }

  return (
    <>
      <PageTitle>Forgot your password?</PageTitle>
      <Text mb="md">Enter the email address of your account and we will send you a link to set a new password.</Text>
      <form noValidate onSubmit={form.onSubmit((values) => send.mutate(values.email.trim()))}>
        <Stack>
          <EmailField key={form.key("email")} {...form.getInputProps("email")} />
          <Button type="submit" loading={send.isPending} fullWidth>
            Send reset link
          </Button>
        </Stack>
      </form>
      <AuthFooter links={[{ to: "/sign-in", label: "Sign in" }]} />
    </>
  );
}
