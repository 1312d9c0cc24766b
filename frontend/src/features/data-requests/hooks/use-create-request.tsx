import { useState } from "react";

import { notifyError, ProblemError } from "@/shared/api/problem";

import { type DataRequest, type DataRequestCreate, useCreateRequest } from "@/features/data-requests/api/data-requests";
import { ReauthenticateModal } from "@/features/data-requests/components/reauthenticate-modal";

interface Callbacks {
  onCreated: (request: DataRequest) => void;
  /** Any other failure (a notification when not given). */
  onFailed?: (error: Error) => void;
}

interface Waiting extends Callbacks {
  body: DataRequestCreate;
}

/**
 * Open a data request; when the API answers `reauthentication-required`, ask for the password
 * (or a two-factor code) in a modal and send the same request again once it is confirmed.
 * Render `modal` once in the page.
 */
export function useCreateRequestWithReauthentication(mfaEnabled: boolean) {
  const create = useCreateRequest();
  const [waiting, setWaiting] = useState<Waiting | null>(null);

  const submit = (body: DataRequestCreate, callbacks: Callbacks) =>
    create.mutate(body, {
      onSuccess: callbacks.onCreated,
      onError: (error) => {
        if (error instanceof ProblemError && error.is("reauthentication-required")) {
          setWaiting({ body, ...callbacks });
          return;
        }
        if (callbacks.onFailed) callbacks.onFailed(error);
        else notifyError(error, "The request could not be made");
      },
    });

  const modal = (
    <ReauthenticateModal
      opened={waiting !== null}
      mfaEnabled={mfaEnabled}
      onCancel={() => setWaiting(null)}
      onConfirmed={() => {
        if (waiting) submit(waiting.body, waiting);
        setWaiting(null);
      }}
    />
  );

  return { submit, pending: create.isPending ? (create.variables?.kind ?? null) : null, modal };
}
