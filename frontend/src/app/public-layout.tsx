import { Anchor, Box, Container, Group, Paper, Text } from "@mantine/core";
import { Suspense } from "react";
import { Link, Outlet } from "react-router";
import { CookieSettingsLink } from "@/features/cookies/cookie-banner-mount";
import { PageLoader } from "@/shared/components/page-loader";

/** Sign-in, sign-up and the emailed-link pages: the product name and one card, no navigation. */
export function PublicLayout() {
  return (
    <Box bg="gray.0" mih="100vh" py={48}>
      <Container size={520}>
        <Box component="header" mb="lg" ta="center">
          <Anchor component={Link} to="/" underline="never" c="dark">
            <Text component="span" fw={700} fz="xl">
              OpMaestro
            </Text>
          </Anchor>
        </Box>
        <Paper component="main" withBorder shadow="sm" radius="md" p="xl">
          <Suspense fallback={<PageLoader />}>
            <Outlet />
          </Suspense>
        </Paper>
        <Group component="footer" justify="center" gap="lg" mt="md">
          <Anchor component={Link} to="/privacy" fz="sm">
            Privacy policy
          </Anchor>
          <Anchor component={Link} to="/terms" fz="sm">
            Terms
          </Anchor>
          <Anchor component={Link} to="/cookie-policy" fz="sm">
            Cookie policy
          </Anchor>
          <CookieSettingsLink />
        </Group>
      </Container>
    </Box>
  );
}
