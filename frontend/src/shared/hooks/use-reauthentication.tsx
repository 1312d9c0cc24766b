import { useMutation } from "@tanstack/react-query";
import { useState } from "react";

import { api } from "@/shared/api/client";
import { ProblemError, unwrap } from "@/shared/api/problem";
import { ReauthenticateModal } from "@/shared/components/reauthenticate-modal";

export type Reauthentication = { password: string } | { code: string };

export function useReauthenticate() {
  return useMutation({
    mutationFn: async (body: Reauthentication) => unwrap(await api.POST("/api/v1/me/reauthenticate", { body })),
  });
}

/**
 * For actions the API refuses with `reauthentication-required` until the password (or a two-factor
 * code) is entered again: `asked(error, again)` is true when the error was that refusal; the modal
 * then asks for the password and runs `again` once it is confirmed. Render `modal` once in the page.
 */
export function useReauthentication(mfaEnabled: boolean, actions: string) {
  const [again, setAgain] = useState<(() => void) | null>(null);

  const asked = (error: unknown, retry: () => void): boolean => {
    if (!(error instanceof ProblemError && error.is("reauthentication-required"))) return false;
    setAgain(() => retry);
    return true;
  };

  const modal = (
    <ReauthenticateModal
      opened={again !== null}
      mfaEnabled={mfaEnabled}
      actions={actions}
      onCancel={() => setAgain(null)}
      onConfirmed={() => {
        again?.();
        setAgain(null);
      }}
    />
  );

  return { asked, modal };
}
