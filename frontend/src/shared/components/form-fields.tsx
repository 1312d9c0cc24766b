import { PasswordInput, type PasswordInputProps, TextInput, type TextInputProps } from "@mantine/core";

/** Mantine's PasswordInput links its error but does not set aria-invalid; this one does. */
export function PasswordField(props: PasswordInputProps) {
  return <PasswordInput aria-invalid={props.error ? true : undefined} {...props} />;
}

/** An email address input: the keyboard, autofill and length limit an address needs. */
export function EmailField(props: TextInputProps) {
  return <TextInput label="Email" type="email" autoComplete="email" required maxLength={320} {...props} />;
}

/** The form rule for an address the user types to be found or mailed: null when it will do. */
export function emailAddressError(value: string): string | null {
  return /^\S+@\S+$/.test(value.trim()) ? null : "Enter your email address.";
}
