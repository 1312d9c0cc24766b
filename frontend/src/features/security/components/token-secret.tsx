import type { TokenCreated } from "@/features/security/api/security";
import { ShownOnceSecret } from "@/shared/components/shown-once-secret";

export function TokenSecret({ token, onDone }: { token: TokenCreated; onDone: () => void }) {
  return (
    <ShownOnceSecret
      title={`Token “${token.name}” created`}
      warning="Copy this token now. You won’t see it again: we only keep a fingerprint of it."
      label="Your new token"
      value={token.token}
      copyLabel="Copy token"
      onDone={onDone}
    />
  );
}
