import { Button, Group, NativeSelect, Stack, TextInput } from "@mantine/core";
import { useForm } from "@mantine/form";
import { notifications } from "@mantine/notifications";

import { showFormError } from "@/shared/api/problem";
import { COUNTRIES } from "@/shared/lib/countries";

import { type Me, type ProfileUpdate, useUpdateProfile } from "@/features/profile/api/profile";

interface ProfileValues {
  name: string;
  company: string;
  job_title: string;
  phone: string;
  country: string;
}

function valuesOf(me: Me): ProfileValues {
  return {
    name: me.name,
    company: me.company ?? "",
    job_title: me.job_title ?? "",
    phone: me.phone ?? "",
    country: me.country,
  };
}

function changesBetween(before: ProfileValues, after: ProfileValues): ProfileUpdate {
  const changes: ProfileUpdate = {};
  const name = after.name.trim();
  const country = after.country.trim().toUpperCase();
  if (name !== before.name) changes.name = name;
  if (country !== before.country) changes.country = country;
  for (const key of ["company", "job_title", "phone"] as const) {
    const value = after[key].trim();
    if (value !== before[key]) changes[key] = value === "" ? null : value;
  }
  return changes;
}

const countryOptions = COUNTRIES.map((country) => ({ value: country.value, label: country.label }));

export function ProfileForm({ me }: { me: Me }) {
  const initial = valuesOf(me);
  const form = useForm<ProfileValues>({
    initialValues: initial,
    validate: {
      name: (value) => (value.trim() ? null : "Enter your name."),
      country: (value) => (value ? null : "Choose your country."),
    },
  });
  const update = useUpdateProfile();

  const submit = form.onSubmit((values) => {
    const changes = changesBetween(initial, values);
    if (Object.keys(changes).length === 0) {
      notifications.show({ message: "Nothing to save: no field has changed." });
      return;
    }
    update.mutate(changes, {
      onSuccess: (saved) => {
        form.setValues(valuesOf(saved));
        form.resetDirty(valuesOf(saved));
        notifications.show({ color: "green", message: "Your profile is saved." });
      },
      onError: (error) => {
        showFormError(error, form);
      },
    });
  });

  return (
    <form onSubmit={submit} noValidate aria-label="Profile">
      <Stack gap="sm">
        <TextInput label="Full name" required autoComplete="name" maxLength={200} {...form.getInputProps("name")} />
        <TextInput label="Company" autoComplete="organization" maxLength={200} {...form.getInputProps("company")} />
        <TextInput
          label="Job title"
          autoComplete="organization-title"
          maxLength={200}
          {...form.getInputProps("job_title")}
        />
        <TextInput
          label="Phone"
          type="tel"
          autoComplete="tel"
          maxLength={40}
          description="Include the country code, such as +1 or +49."
          {...form.getInputProps("phone")}
        />
        <NativeSelect
          label="Country"
          required
          autoComplete="country"
          data={countryOptions}
          {...form.getInputProps("country")}
        />
        <Group>
          <Button type="submit" loading={update.isPending}>
            Save changes
          </Button>
        </Group>
      </Stack>
    </form>
  );
}
