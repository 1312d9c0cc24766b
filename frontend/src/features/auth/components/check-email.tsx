import { Text } from "@mantine/core";
import { PageTitle } from "@/shared/components/page-title";
import { AuthFooter } from "./auth-footer";
import { ResendVerification } from "./resend-verification";

/** After sign-up: the verification link is on its way. */
export function CheckEmail({ email, detail }: { email: string; detail: string }) {
  return (
    <>
      <PageTitle focusOnMount>Check your email</PageTitle>
      <Text mb="sm">{detail || "If the address can be used, a verification link is on its way to it."}</Text>
      <Text mb="md">
        Open the link we sent to <strong>{email}</strong> to verify your address, then sign in.
      </Text>
      <ResendVerification email={email} />
      <AuthFooter links={[{ to: "/sign-in", label: "Sign in" }]} />
    </>
  );
}
