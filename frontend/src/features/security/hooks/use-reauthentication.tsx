import { useState } from "react";

import { ProblemError } from "@/shared/api/problem";

import { ReauthenticateModal } from "@/features/security/components/reauthenticate-modal";

/**
 * Ask for the password (or a two-factor code) when the API answers `reauthentication-required`,
 * then run the refused action again. Render `modal` once; in a mutation's `onError`, call
 * `asked(error, retry)` first: it is true when it took the error over.
 */
export function useReauthentication(mfaEnabled: boolean) {
  const [retry, setRetry] = useState<(() => void) | null>(null);

  const asked = (error: Error, again: () => void): boolean => {
    if (!(error instanceof ProblemError && error.is("reauthentication-required"))) return false;
    setRetry(() => again);
    return true;
  };

  const modal = (
    <ReauthenticateModal
      opened={retry !== null}
      mfaEnabled={mfaEnabled}
      onCancel={() => setRetry(null)}
      onConfirmed={() => {
        retry?.();
        setRetry(null);
      }}
    />
  );

  return { asked, modal };
}
