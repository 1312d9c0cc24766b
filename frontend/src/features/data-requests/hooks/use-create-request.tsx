import { notifyError } from "@/shared/api/problem";
import { useReauthentication } from "@/shared/hooks/use-reauthentication";

import { type DataRequest, type DataRequestCreate, useCreateRequest } from "@/features/data-requests/api/data-requests";

interface Callbacks {
  onCreated: (request: DataRequest) => void;
  /** Any other failure (a notification when not given). */
  onFailed?: (error: Error) => void;
}

/**
 * Open a data request; when the API answers `reauthentication-required`, ask for the password
 * (or a two-factor code) in a modal and send the same request again once it is confirmed.
 * Render `modal` once in the page.
 */
export function useCreateRequestWithReauthentication(mfaEnabled: boolean) {
  const create = useCreateRequest();
  const reauthentication = useReauthentication(mfaEnabled, "Requests about your data");

  const submit = (body: DataRequestCreate, callbacks: Callbacks) =>
    create.mutate(body, {
      onSuccess: callbacks.onCreated,
      onError: (error) => {
        if (reauthentication.asked(error, () => submit(body, callbacks))) return;
        if (callbacks.onFailed) callbacks.onFailed(error);
        else notifyError(error, "The request could not be made");
      },
    });

  return {
    submit,
    pending: create.isPending ? (create.variables?.kind ?? null) : null,
    modal: reauthentication.modal,
  };
}
