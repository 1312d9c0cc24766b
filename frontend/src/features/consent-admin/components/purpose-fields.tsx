import { NativeSelect, Textarea, TextInput } from "@mantine/core";
import type { UseFormReturnType } from "@mantine/form";

import { CheckboxField } from "@/shared/components/checkbox-field";

import { LEGAL_BASES, type LegalBasis } from "@/features/consent-admin/api/purposes";

export interface PurposeFieldValues {
  name: string;
  description: string;
  legal_basis: LegalBasis;
  optional: boolean;
}

/** The fields a new purpose and an edited one share. */
export function PurposeFields<Values extends PurposeFieldValues>({ form }: { form: UseFormReturnType<Values> }) {
  return (
    <>
      <TextInput label="Name" required maxLength={200} key={form.key("name")} {...form.getInputProps("name")} />
      <Textarea
        label="Description"
        required
        autosize
        minRows={3}
        maxLength={4000}
        key={form.key("description")}
        {...form.getInputProps("description")}
      />
      <NativeSelect
        label="Legal basis"
        data={LEGAL_BASES}
        key={form.key("legal_basis")}
        {...form.getInputProps("legal_basis")}
      />
      <CheckboxField
        label="Optional (people may refuse it)"
        key={form.key("optional")}
        {...form.getInputProps("optional", { type: "checkbox" })}
      />
    </>
  );
}
