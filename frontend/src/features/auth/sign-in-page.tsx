import { Button, Stack, Text, TextInput } from "@mantine/core";
import { useForm } from "@mantine/form";
import { notifications } from "@mantine/notifications";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { Navigate, useNavigate, useSearchParams } from "react-router";
import { ProblemError, showFormError } from "@/shared/api/problem";
import { EmailField, emailAddressError, PasswordField } from "@/shared/components/form-fields";
import { PageTitle } from "@/shared/components/page-title";
import { isStaff, ME_QUERY_KEY, useMe } from "@/shared/hooks/use-me";
import { safeNext } from "@/shared/lib/safe-next";
import { login, type LoginResult } from "./api/auth-api";
import { AuthFooter } from "./components/auth-footer";

interface SignInValues {
  email: string;
  password: string;
  otp: string;
}

/** Email and password, then (for two-factor accounts) the authentication code. */
export function SignInPage() {
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const me = useMe();
  const [step, setStep] = useState<"password" | "code">("password");
  const next = params.get("next");

  const form = useForm<SignInValues>({
    initialValues: { email: "", password: "", otp: "" },
    validate: {
      email: emailAddressError,
      password: (value) => (value ? null : "Enter your password."),
    },
  });

  const signIn = useMutation({
    mutationFn: (values: SignInValues) =>
      login({
        email: values.email.trim(),
        password: values.password,
        otp: step === "code" ? values.otp.replace(/\s+/g, "") : null,
      }),
    onSuccess: (result: LoginResult) => {
      notifications.clean();
      queryClient.setQueryData(ME_QUERY_KEY, result.user);
      // Staff set up two-factor at their first sign-in, on the Security page.
      const fallback = isStaff(result.user) && !result.user.mfa_enabled ? "/security" : "/profile";
      void navigate(safeNext(next, fallback), { replace: true });
    },
    onError: (error) => {
      if (error instanceof ProblemError && error.is("mfa-required")) {
        setStep("code");
        form.setFieldValue("otp", "");
        form.clearErrors();
        return;
      }
      if (step === "code" && error instanceof ProblemError && error.status === 401) {
        form.setErrors({ otp: error.problem.detail || "The code is not correct." });
        return;
      }
      showFormError(error, form);
    },
  });

  if (me.data && !signIn.isPending && !signIn.isSuccess) {
    return <Navigate to={safeNext(next)} replace />;
  }

  return (
    <>
      <PageTitle>Sign in</PageTitle>
      <form
        noValidate
        onSubmit={form.onSubmit((values) => {
          if (step === "code" && values.otp.replace(/\s+/g, "").length < 6) {
            form.setFieldError("otp", "Enter the 6-digit code or a recovery code.");
            return;
          }
          signIn.mutate(values);
        })}
      >
        {step === "password" ? (
          <Stack>
            <EmailField key={form.key("email")} {...form.getInputProps("email")} />
            <PasswordField
              label="Password"
              autoComplete="current-password"
              required
              key={form.key("password")}
              {...form.getInputProps("password")}
            />
            <Button type="submit" loading={signIn.isPending} fullWidth>
              Sign in
            </Button>
          </Stack>
        ) : (
          <Stack>
            <Text id="otp-help">
              Your account uses two-factor authentication. Enter the 6-digit code from your authenticator app, or one of
              your recovery codes.
            </Text>
            <TextInput
              label="Authentication code"
              autoComplete="one-time-code"
              autoFocus
              required
              maxLength={20}
              aria-describedby="otp-help"
              key={form.key("otp")}
              {...form.getInputProps("otp")}
            />
            <Button type="submit" loading={signIn.isPending} fullWidth>
              Verify
            </Button>
            <Button
              variant="subtle"
              onClick={() => {
                setStep("password");
                form.setFieldValue("otp", "");
              }}
            >
              Use another account
            </Button>
          </Stack>
        )}
      </form>
      <AuthFooter
        links={[
          { to: "/forgot-password", label: "Forgot your password?" },
          { to: "/sign-up", label: "Create an account" },
          { to: "/privacy-request", label: "Privacy request" },
        ]}
      />
    </>
  );
}
