import { Checkbox, type CheckboxProps } from "@mantine/core";
import { useId } from "react";

// Apart from the other fields: the sign-in page needs none of Checkbox's code.
/**
 * Mantine's Checkbox shows its error but neither marks the input invalid nor links the message;
 * this one does both, so screen readers announce the error with the checkbox.
 */
export function CheckboxField({ error, id, ...props }: CheckboxProps) {
  const generated = useId();
  const inputId = id ?? generated;
  const errorId = `${inputId}-error`;
  const message = error && typeof error !== "boolean" ? <span id={errorId}>{error}</span> : error;
  return (
    <Checkbox
      id={inputId}
      {...props}
      error={message}
      aria-invalid={error ? true : undefined}
      aria-describedby={error && typeof error !== "boolean" ? errorId : undefined}
    />
  );
}
