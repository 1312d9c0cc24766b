import { Alert, Button, Group } from "@mantine/core";
import { useForm } from "@mantine/form";
import { useMutation } from "@tanstack/react-query";
import { notifyError, showFormError } from "@/shared/api/problem";
import { EmailField, emailAddressError } from "@/shared/components/form-fields";
import { resendVerification } from "@/features/auth/api/auth-api";

const SENT = "If the address needs verifying, a new link is on its way.";

/**
 * Ask for a new verification link: for a known address a button, otherwise a small form. The
 * answer is the same whether or not the address has an account waiting to be verified.
 */
export function ResendVerification({ email, label = "Send the link again" }: { email?: string; label?: string }) {
  const form = useForm({
    initialValues: { email: "" },
    validate: { email: emailAddressError },
  });
  const resend = useMutation({
    mutationFn: (address: string) => resendVerification(address),
    onError: (error) => (email ? notifyError(error) : showFormError(error, form)),
  });

  const sent = resend.isSuccess && (
    <Alert color="green" role="status" mt="sm">
      {resend.data.detail || SENT}
    </Alert>
  );
  if (email) {
    return (
      <>
        <Button variant="default" loading={resend.isPending} onClick={() => resend.mutate(email)}>
          {label}
        </Button>
        {sent}
      </>
    );
  }
  return (
    <form noValidate onSubmit={form.onSubmit((values) => resend.mutate(values.email.trim()))}>
      <Group align="flex-end">
        <EmailField key={form.key("email")} {...form.getInputProps("email")} />
        <Button type="submit" variant="default" loading={resend.isPending}>
          {label}
        </Button>
      </Group>
      {sent}
    </form>
  );
}
