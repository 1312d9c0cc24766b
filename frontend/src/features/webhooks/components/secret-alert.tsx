import type { EndpointWithSecret } from "@/features/webhooks/api/webhooks";
import { ShownOnceSecret } from "@/shared/components/shown-once-secret";

export function SecretAlert({ endpoint, onDone }: { endpoint: EndpointWithSecret; onDone: () => void }) {
  return (
    <ShownOnceSecret
      title={`Signing secret for ${endpoint.url}`}
      warning="Copy this secret now and keep it in your receiver. You won’t see it again."
      label="Signing secret"
      value={endpoint.secret}
      copyLabel="Copy secret"
      onDone={onDone}
    />
  );
}
