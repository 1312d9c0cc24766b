import { Alert, Container, Paper, Skeleton, Stack, Title } from "@mantine/core";

import { useMe } from "@/shared/hooks/use-me";
import { PageTitle } from "@/shared/components/page-title";

import { EmailChangeForm } from "./components/email-change-form";
import { ProfileForm } from "./components/profile-form";

export function ProfilePage() {
  const me = useMe();
  return (
    <Container size="sm">
      <Stack gap="lg">
        <PageTitle>Your profile</PageTitle>
        {me.isPending ? (
          <Stack gap="sm" aria-busy="true" aria-label="Loading your profile">
            <Skeleton height={36} />
            <Skeleton height={36} />
            <Skeleton height={36} />
          </Stack>
        ) : me.isError || !me.data ? (
          <Alert color="red" title="Your profile could not be loaded">
            Reload the page to try again.
          </Alert>
        ) : (
          <>
            <Paper withBorder p="md" component="section" aria-labelledby="profile-details">
              <Title order={2} size="h3" id="profile-details" mb="sm">
                Details
              </Title>
              <ProfileForm key={me.data.id} me={me.data} />
            </Paper>
            <Paper withBorder p="md" component="section" aria-labelledby="profile-email">
              <Title order={2} size="h3" id="profile-email" mb="sm">
                Email address
              </Title>
              <EmailChangeForm currentEmail={me.data.email} />
            </Paper>
          </>
        )}
      </Stack>
    </Container>
  );
}
