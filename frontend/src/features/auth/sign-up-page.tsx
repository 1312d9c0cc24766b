import { Alert, Anchor, Button, NativeSelect, SimpleGrid, Stack, TextInput } from "@mantine/core";
import { useForm } from "@mantine/form";
import { useMutation } from "@tanstack/react-query";
import { useState } from "react";
import { ProblemError, problemMessage, showFormError } from "@/shared/api/problem";
import { CheckboxField } from "@/shared/components/checkbox-field";
import { EmailField, PasswordField } from "@/shared/components/form-fields";
import { PageTitle } from "@/shared/components/page-title";
import { COUNTRIES } from "@/shared/lib/countries";
import { register, type RegistrationCreate } from "./api/auth-api";
import { AuthFooter } from "./components/auth-footer";
import { CheckEmail } from "./components/check-email";
import { PolicySummary } from "./components/policy-summary";
import { usePolicies } from "./hooks/use-policies";

const PASSWORD_MIN = 12;
const PASSWORD_MAX = 128;

export interface SignUpValues {
  name: string;
  email: string;
  password: string;
  company: string;
  job_title: string;
  phone: string;
  country: string;
  date_of_birth: string;
  confirms_age_18_or_over: boolean;
  accept_terms: boolean;
  acknowledge_us_transfer: boolean;
  marketing_email_opt_in: boolean;
}

/** API fields that the form shows under another control. */
const ALIASES: Record<string, string> = {
  accepted_terms_version: "accept_terms",
  accepted_privacy_version: "accept_terms",
  acknowledged_us_transfer_notice_version: "acknowledge_us_transfer",
};

function optional(value: string): string | null {
  const trimmed = value.trim();
  return trimmed ? trimmed : null;
}

/** Create an account: every registration field, the 18+ attestation and the policies in effect. */
export function SignUpPage() {
  const { policies, isPending: policiesPending, error: policiesError, refetch } = usePolicies();
  const [sentTo, setSentTo] = useState<{ email: string; detail: string } | null>(null);

  const form = useForm<SignUpValues>({
    initialValues: {
      name: "",
      email: "",
      password: "",
      company: "",
      job_title: "",
      phone: "",
      country: "",
      date_of_birth: "",
      confirms_age_18_or_over: false,
      accept_terms: false,
      acknowledge_us_transfer: false,
      marketing_email_opt_in: false,
    },
    validate: {
      name: (value) => (value.trim() ? null : "Enter your name."),
      email: (value) => (/^\S+@\S+\.\S+$/.test(value.trim()) ? null : "Enter a valid email address."),
      password: (value) =>
        value.length < PASSWORD_MIN
          ? `Use at least ${PASSWORD_MIN} characters.`
          : value.length > PASSWORD_MAX
            ? `Use at most ${PASSWORD_MAX} characters.`
            : null,
      country: (value) => (value ? null : "Choose your country."),
      confirms_age_18_or_over: (value) => (value ? null : "You must be 18 or older to use OpMaestro."),
      accept_terms: (value) => (value ? null : "Accept the terms of service and the privacy policy to continue."),
      acknowledge_us_transfer: (value) => (value ? null : "Confirm that you have read the notice to continue."),
    },
  });

  const signUp = useMutation({
    mutationFn: (body: RegistrationCreate) => register(body),
    onSuccess: (result, body) => setSentTo({ email: body.email, detail: result.detail ?? "" }),
    onError: (error) => {
      if (error instanceof ProblemError && error.is("policy-version-mismatch")) void refetch();
      showFormError(error, form, ALIASES);
    },
  });

  if (sentTo) return <CheckEmail email={sentTo.email} detail={sentTo.detail} />;

  const { terms, privacy, us_transfer_notice: usNotice } = policies;
  const ready = !!terms && !!privacy && !!usNotice;

  const submit = form.onSubmit((values) => {
    if (!terms || !privacy || !usNotice) return;
    signUp.mutate({
      name: values.name.trim(),
      email: values.email.trim(),
      password: values.password,
      company: optional(values.company),
      job_title: optional(values.job_title),
      phone: optional(values.phone),
      country: values.country,
      date_of_birth: optional(values.date_of_birth),
      // Validation lets the form through only with the box checked.
      confirms_age_18_or_over: true,
      accepted_terms_version: terms.version,
      accepted_privacy_version: privacy.version,
      acknowledged_us_transfer_notice_version: usNotice.version,
      marketing_email_opt_in: values.marketing_email_opt_in,
    });
  });

  return (
    <>
      <PageTitle>Create your account</PageTitle>
      {policiesError && (
        <Alert color="red" title="The policies could not be loaded" mb="md">
          {policiesError instanceof ProblemError ? problemMessage(policiesError.problem) : "Check your connection."}{" "}
          <Anchor component="button" type="button" onClick={() => void refetch()}>
            Try again
          </Anchor>
        </Alert>
      )}
      <form noValidate onSubmit={submit}>
        <Stack>
          <TextInput
            label="Full name"
            autoComplete="name"
            required
            key={form.key("name")}
            {...form.getInputProps("name")}
          />
          <EmailField key={form.key("email")} {...form.getInputProps("email")} />
          <PasswordField
            label="Password"
            description={`${PASSWORD_MIN} to ${PASSWORD_MAX} characters; common passwords are refused.`}
            autoComplete="new-password"
            required
            key={form.key("password")}
            {...form.getInputProps("password")}
          />
          <SimpleGrid cols={{ base: 1, xs: 2 }}>
            <TextInput
              label="Company"
              autoComplete="organization"
              key={form.key("company")}
              {...form.getInputProps("company")}
            />
            <TextInput
              label="Job title"
              autoComplete="organization-title"
              key={form.key("job_title")}
              {...form.getInputProps("job_title")}
            />
          </SimpleGrid>
          <NativeSelect
            label="Country"
            required
            autoComplete="country"
            data={[{ value: "", label: "Choose a country" }, ...COUNTRIES]}
            key={form.key("country")}
            {...form.getInputProps("country")}
          />
          <TextInput
            label="Phone"
            type="tel"
            autoComplete="tel"
            description="Optional. Include the country code, such as +1, or use your country's format."
            key={form.key("phone")}
            {...form.getInputProps("phone")}
          />
          <TextInput
            label="Date of birth"
            type="date"
            autoComplete="bday"
            description="Optional."
            key={form.key("date_of_birth")}
            {...form.getInputProps("date_of_birth")}
          />
          <CheckboxField
            label="I am 18 or older"
            required
            key={form.key("confirms_age_18_or_over")}
            {...form.getInputProps("confirms_age_18_or_over", { type: "checkbox" })}
          />
          <div>
            <CheckboxField
              label="I accept the terms of service and the privacy policy"
              required
              key={form.key("accept_terms")}
              {...form.getInputProps("accept_terms", { type: "checkbox" })}
            />
            {terms && <PolicySummary policy={terms} />}
            {privacy && <PolicySummary policy={privacy} />}
          </div>
          <div>
            <CheckboxField
              label="I have read the notice on data processing in the United States"
              required
              key={form.key("acknowledge_us_transfer")}
              {...form.getInputProps("acknowledge_us_transfer", { type: "checkbox" })}
            />
            {usNotice && <PolicySummary policy={usNotice} />}
          </div>
          <CheckboxField
            label="Send me occasional news about OpMaestro features and events (optional; every message has an unsubscribe link)"
            key={form.key("marketing_email_opt_in")}
            {...form.getInputProps("marketing_email_opt_in", { type: "checkbox" })}
          />
          <Button type="submit" loading={signUp.isPending || policiesPending} disabled={!ready} fullWidth>
            Create account
          </Button>
        </Stack>
      </form>
      <AuthFooter links={[{ to: "/sign-in", label: "Sign in" }]} />
    </>
  );
}
