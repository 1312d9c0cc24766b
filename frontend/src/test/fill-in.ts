import userEvent from "@testing-library/user-event";

/**
 * Put `value` into a text field as a paste would: focus it, replace what it holds, one input.
 * Typing key by key renders the form once per key, which made the sign-up tests take seconds on
 * a busy machine; keep `user.type` for tests about typing itself.
 */
export async function fillIn(field: HTMLElement, value: string): Promise<void> {
  const user = userEvent.setup();
  const holds = field instanceof HTMLInputElement || field instanceof HTMLTextAreaElement ? field.value : "";
  // Clearing a field that is already empty would only cost another render.
  if (holds) await user.clear(field);
  else await user.click(field);
  if (value) await user.paste(value);
}
