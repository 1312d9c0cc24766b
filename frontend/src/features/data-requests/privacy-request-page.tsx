import {
  Alert,
  Button,
  Checkbox,
  NativeSelect,
  Radio,
  SimpleGrid,
  Stack,
  Text,
  Textarea,
  TextInput,
} from "@mantine/core";
import { useForm } from "@mantine/form";
import { useState } from "react";
import { Link } from "react-router";

import { showFormError } from "@/shared/api/problem";
import { EmailField, emailAddressError } from "@/shared/components/form-fields";
import { PageTitle } from "@/shared/components/page-title";
import { COUNTRIES } from "@/shared/lib/countries";

import { type CorrectableField, type RequestKind, useSubmitPublicRequest } from "./api/data-requests";
import { DETAILS_MAX } from "./components/correction-form";
import { FIELD_LABELS } from "./format";

const KINDS: { value: RequestKind; label: string; description: string }[] = [
  { value: "export", label: "A copy of my data", description: "Everything we hold about you, as a ZIP file." },
  { value: "correction", label: "A correction", description: "Data about you that is wrong." },
  { value: "erasure", label: "Erasure", description: "Delete what we hold about you, except what the law keeps." },
];
const FIELDS = Object.entries(FIELD_LABELS) as [CorrectableField, string][];

interface PublicRequestValues {
  email: string;
  kind: RequestKind;
  details: string;
  fields: CorrectableField[];
  country: string;
  us_state: string;
}

/** Shown after any accepted submission: it never tells whether the address has an account. */
export const NEUTRAL_CONFIRMATION =
  "If the address can receive mail, a link to confirm your request is on its way. Nothing happens until you open it; it works for 24 hours.";

/** /privacy-request: a data request for people without an account, or locked out of it. */
export function PrivacyRequestPage() {
  const submit = useSubmitPublicRequest();
  const [sentTo, setSentTo] = useState<string | null>(null);
  const form = useForm<PublicRequestValues>({
    initialValues: { email: "", kind: "export", details: "", fields: [], country: "", us_state: "" },
    validate: {
      email: emailAddressError,
      details: (value, values) =>
        values.kind === "correction" && !value.trim() ? "Say what is wrong and what it should be." : null,
      fields: (value, values) =>
        values.kind === "correction" && value.length === 0 ? "Choose at least one kind of data." : null,
      us_state: (value, values) =>
        values.country === "US" && value && !/^[A-Za-z]{2}$/.test(value.trim())
          ? "Use the two-letter code, such as CA."
          : null,
    },
  });
  const { kind, country } = form.getValues();

  const send = form.onSubmit((values) => {
    const correction = values.kind === "correction";
    submit.mutate(
      {
        email: values.email.trim(),
        kind: values.kind,
        details: values.details.trim() || undefined,
        fields: correction ? values.fields : [],
        country: values.country || undefined,
        us_state: values.country === "US" && values.us_state.trim() ? values.us_state.trim().toUpperCase() : undefined,
      },
      {
        onSuccess: () => setSentTo(values.email.trim()),
        // The API answers the same whether or not the address has an account; only input it
        // cannot take (or too many requests, or a failed connection) comes back as an error.
        onError: (error) => showFormError(error, form),
      },
    );
  });

  if (sentTo !== null) {
    return (
      <>
        <PageTitle focusOnMount>Check your inbox</PageTitle>
        <Alert color="blue" title="Request received" role="status">
          {NEUTRAL_CONFIRMATION}
        </Alert>
        <Text size="sm" mt="md">
          Sent for <strong>{sentTo}</strong>. Have an account? <Link to="/privacy/data">Sign in and use Your data</Link>{" "}
          instead.
        </Text>
      </>
    );
  }

  return (
    <>
      <PageTitle>Privacy request</PageTitle>
      <Text size="sm" mb="md">
        Ask for a copy, a correction or the erasure of your data without signing in. We email a link to confirm it is
        you; we answer before the legal deadline of your country.
      </Text>
      <form noValidate onSubmit={send} aria-label="Privacy request">
        <Stack gap="sm">
          <EmailField label="Email" required {...form.getInputProps("email")} />
          <Radio.Group label="What do you want?" required {...form.getInputProps("kind")}>
            <Stack gap="xs" mt="xs">
              {KINDS.map((option) => (
                <Radio key={option.value} value={option.value} label={option.label} description={option.description} />
              ))}
            </Stack>
          </Radio.Group>
          {kind === "correction" && (
            <Checkbox.Group label="What needs correcting" required {...form.getInputProps("fields")}>
              <SimpleGrid cols={2} spacing="xs" mt="xs">
                {FIELDS.map(([value, label]) => (
                  <Checkbox key={value} value={value} label={label} />
                ))}
              </SimpleGrid>
            </Checkbox.Group>
          )}
          <Textarea
            label="Details"
            description={kind === "correction" ? "What is wrong, and what it should say." : "Optional."}
            required={kind === "correction"}
            autosize
            minRows={3}
            maxLength={DETAILS_MAX}

            {...form.getInputProps("details")}
          />
          <NativeSelect
            label="Country"
            description="Where you live: it sets the deadline we answer by."
            autoComplete="country"
            data={[{ value: "", label: "Choose a country" }, ...COUNTRIES]}

            {...form.getInputProps("country")}
          />
          {country === "US" && (
            <TextInput
              label="US state"
              description="Two letters, such as CA."
              maxLength={2}
              autoComplete="address-level1"

              {...form.getInputProps("us_state")}
            />
          )}
          <Button type="submit" loading={submit.isPending}>
            Send request
          </Button>
        </Stack>
      </form>
      <Text size="sm" ta="center" mt="lg">
        <Link to="/sign-in">Sign in</Link> if you have an account.
      </Text>
    </>
  );
}
