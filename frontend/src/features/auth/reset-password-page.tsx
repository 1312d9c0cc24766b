import { Alert, Button, Stack, Text } from "@mantine/core";
import { useForm } from "@mantine/form";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useSearchParams } from "react-router";
import { showFormError } from "@/shared/api/problem";
import { PasswordField } from "@/shared/components/form-fields";
import { PageTitle } from "@/shared/components/page-title";
import { ME_QUERY_KEY } from "@/shared/hooks/use-me";
import { resetPassword } from "./api/auth-api";
import { isBadLink } from "./bad-link";
import { AuthFooter } from "./components/auth-footer";

const PASSWORD_MIN = 12;
const PASSWORD_MAX = 128;

/** /reset-password?token=...: set a new password; every session is signed out. */
export function ResetPasswordPage() {
  const [params] = useSearchParams();
  const token = params.get("token") ?? "";
  const queryClient = useQueryClient();
  const form = useForm({
    initialValues: { new_password: "" },
    validate: {
      new_password: (value) =>
        value.length < PASSWORD_MIN
          ? `Use at least ${PASSWORD_MIN} characters.`
          : value.length > PASSWORD_MAX
            ? `Use at most ${PASSWORD_MAX} characters.`
            : null,
    },
  });
  const reset = useMutation({
    mutationFn: (password: string) => resetPassword(token, password),
    onSuccess: () => queryClient.setQueryData(ME_QUERY_KEY, null),
    onError: (error) => {
      if (!isBadLink(error)) showFormError(error, form);
    },
  });

  if (!token) {
    return (
      <>
        <PageTitle>Set a new password</PageTitle>
        <Alert color="red" title="This link is incomplete">
          The reset link has no token. Open the link from the email again, or ask for a new one.
        </Alert>
        <AuthFooter links={[{ to: "/forgot-password", label: "Ask for a new link" }]} />
      </>
    );
  }
  if (reset.isSuccess) {
    return (
      <>
        <PageTitle focusOnMount>Password set</PageTitle>
        <Text>Your new password is set and every session was signed out. Sign in with your new password.</Text>
        <AuthFooter links={[{ to: "/sign-in", label: "Sign in" }]} />
      </>
    );
  }

  const expired = isBadLink(reset.error);
  return (
    <>
      <PageTitle>Set a new password</PageTitle>
      {expired && (
        <Alert color="red" title="This link is invalid or has expired" mb="md" role="alert">
          It may have been used already, replaced by a newer link, or cut short when it was copied. Ask for a new one.
        </Alert>
      )}
      <form noValidate onSubmit={form.onSubmit((values) => reset.mutate(values.new_password))}>
        <Stack>
          <PasswordField
            label="New password"
            description={`${PASSWORD_MIN} to ${PASSWORD_MAX} characters; common passwords are refused.`}
            autoComplete="new-password"
            required
            key={form.key("new_password")}
            {...form.getInputProps("new_password")}
          />
          <Button type="submit" loading={reset.isPending} fullWidth>
            Set password
          </Button>
        </Stack>
      </form>
      <AuthFooter
        links={[
          { to: "/forgot-password", label: "Ask for a new link" },
          { to: "/sign-in", label: "Sign in" },
        ]}
      />
    </>
  );
}
