import { Container, Skeleton, Stack } from "@mantine/core";

import { isStaff as isStaffUser, useMe } from "@/shared/hooks/use-me";
import { PageTitle } from "@/shared/components/page-title";

import { PasswordForm } from "./components/password-form";
import { Section } from "./components/section";
import { SessionsSection } from "./components/sessions-section";
import { TokensSection } from "./components/tokens-section";
import { TwoFactorSection } from "./components/two-factor-section";

export function SecurityPage() {
  const me = useMe();
  const isStaff = isStaffUser(me.data);
  return (
    <Container size="md">
      <Stack gap="lg">
        <PageTitle>Security</PageTitle>
        {me.isPending && <Skeleton height={48} aria-label="Loading your account" />}
        {me.data && <TwoFactorSection enabled={me.data.mfa_enabled} isStaff={isStaff} />}
        <Section id="security-password" title="Password">
          <PasswordForm />
        </Section>
        <Section id="security-sessions" title="Sessions">
          <SessionsSection />
        </Section>
        <Section id="security-tokens" title="API tokens">
          <TokensSection isStaff={isStaff} mfaEnabled={me.data?.mfa_enabled ?? false} />
        </Section>
      </Stack>
    </Container>
  );
}
