import { Button, Checkbox, Group, Loader, NumberInput, Stack, TextInput } from "@mantine/core";
import { useForm } from "@mantine/form";

import type { components } from "@/shared/api/client";
import { showFormError } from "@/shared/api/problem";

import { type TokenCreate, type TokenCreated, useCreateToken, useScopes } from "@/features/security/api/security";
import { useReauthentication } from "@/shared/hooks/use-reauthentication";

interface TokenValues {
  name: string;
  scopes: components["schemas"]["TokenCreate"]["scopes"];
  expires_in_days: number | string;
}

interface CreateTokenFormProps {
  isStaff: boolean;
  /** Two-factor is on: a code may confirm it is you instead of the password. */
  mfaEnabled: boolean;
  onCreated: (token: TokenCreated) => void;
}

export function CreateTokenForm({ isStaff, mfaEnabled, onCreated }: CreateTokenFormProps) {
  const scopes = useScopes();
  const create = useCreateToken();
  // A new token needs the password entered recently; otherwise it is asked for, then the token is made.
  const reauthentication = useReauthentication(mfaEnabled, "New API tokens");
  const form = useForm<TokenValues>({
    initialValues: { name: "", scopes: [], expires_in_days: 90 },
    validate: {
      name: (value) => (value.trim() ? null : "Name the token, such as the app that will use it."),
      scopes: (value) => (value.length ? null : "Choose at least one scope."),
      expires_in_days: (value) => {
        const days = Number(value);
        return Number.isInteger(days) && days >= 1 && days <= 365 ? null : "Between 1 and 365 days.";
      },
    },
  });
  // Client-only scopes (`consents:*`) belong to OAuth clients, never to a person's token.
  const offered = (scopes.data ?? []).filter(
    (scope) => !scope.clients_only && (isStaff || !scope.name.startsWith("admin:")),
  );

  const createToken = (body: TokenCreate) =>
    create.mutate(body, {
      onSuccess: (token) => {
        form.reset();
        onCreated(token);
      },
      onError: (error) => {
        if (reauthentication.asked(error, () => createToken(body))) return;
        showFormError(error, form);
      },
    });
  const submit = form.onSubmit((values) =>
    createToken({ name: values.name.trim(), scopes: values.scopes, expires_in_days: Number(values.expires_in_days) }),
  );

  // The modal outside the form: React carries its form's submit event up the component tree, portal or not.
  return (
    <>
      {reauthentication.modal}
      <form onSubmit={submit} noValidate aria-label="Create an API token">
        <Stack gap="sm">
          <TextInput label="Token name" required maxLength={100} {...form.getInputProps("name")} />
          {scopes.isPending ? (
            <Loader size="sm" role="status" aria-label="Loading scopes" />
          ) : (
            <Checkbox.Group label="Scopes" required {...form.getInputProps("scopes")}>
              <Stack gap={6} mt={6}>
                {offered.map((scope) => (
                  <Checkbox key={scope.name} value={scope.name} label={`${scope.description} (${scope.name})`} />
                ))}
              </Stack>
            </Checkbox.Group>
          )}
          <NumberInput
            label="Expires in (days)"
            min={1}
            max={365}
            allowDecimal={false}
            allowNegative={false}
            w={200}
            {...form.getInputProps("expires_in_days")}
          />
          <Group>
            <Button type="submit" loading={create.isPending}>
              Create token
            </Button>
          </Group>
        </Stack>
      </form>
    </>
  );
}
