import { Alert, Anchor, AppShell, Burger, Button, Group, NavLink, Text, VisuallyHidden } from "@mantine/core";
import { useDisclosure } from "@mantine/hooks";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { Suspense } from "react";
import { Link, Navigate, Outlet, useLocation, useNavigate } from "react-router";
import { ResendVerification } from "@/features/auth/components/resend-verification";
import { CookieSettingsLink, useCookieChoiceOfAccount } from "@/features/cookies/cookie-banner-mount";
import { api } from "@/shared/api/client";
import { notifyError, ProblemError, problemMessage, unwrap } from "@/shared/api/problem";
import { PageLoader } from "@/shared/components/page-loader";
import { isPrivacyStaff, isStaff, ME_QUERY_KEY, useMe } from "@/shared/hooks/use-me";
import { signInPath } from "@/shared/lib/safe-next";

const NAV = [
  { to: "/profile", label: "Profile" },
  { to: "/security", label: "Security" },
  { to: "/settings/integrations", label: "Integrations" },
  { to: "/settings/webhooks", label: "Webhooks" },
  { to: "/billing", label: "Billing" },
  { to: "/close-account", label: "Close account" },
];
const PRIVACY_NAV = [
  { to: "/privacy/consents", label: "Consents" },
  { to: "/privacy/data", label: "Your data" },
  { to: "/privacy/cookies", label: "Cookies" },
];
const ADMIN_NAV = [{ to: "/admin/users", label: "Users" }];
// Admins and privacy officers only, as the API allows.
const PRIVACY_ADMIN_NAV = [
  { to: "/admin/purposes", label: "Purposes" },
  { to: "/admin/consent", label: "Consent dashboard" },
  { to: "/admin/data-requests", label: "Data requests" },
  { to: "/admin/cookies", label: "Cookies" },
];

function SkipLink() {
  return (
    <a href="#main-content" className="opm-skip-link">
      Skip to content
    </a>
  );
}

/** The signed-in app: header with the user's name and Sign out, navigation, and the page. */
export function SignedInLayout() {
  const me = useMe();
  const location = useLocation();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [opened, { toggle, close }] = useDisclosure(false);
  useCookieChoiceOfAccount(me.data?.id ?? null);

  const signOut = useMutation({
    mutationFn: async () => unwrap(await api.POST("/api/v1/auth/logout")),
    onSuccess: () => {
      queryClient.setQueryData(ME_QUERY_KEY, null);
      queryClient.removeQueries({ predicate: (query) => query.queryKey[0] !== ME_QUERY_KEY[0] });
      void navigate("/sign-in", { replace: true });
    },
    onError: (error) => notifyError(error, "Sign out failed"),
  });

  if (me.isPending) return <PageLoader />;
  if (me.isError) {
    return (
      <Alert component="main" color="red" title="Could not load your account" m="lg">
        {me.error instanceof ProblemError ? problemMessage(me.error.problem) : "The server could not be reached."}{" "}
        <Anchor component="button" onClick={() => void me.refetch()}>
          Try again
        </Anchor>
      </Alert>
    );
  }
  if (!me.data) return <Navigate to={signInPath(location.pathname + location.search)} replace />;

  const user = me.data;
  const navLink = (item: { to: string; label: string }) => (
    <NavLink
      key={item.to}
      component={Link}
      to={item.to}
      label={item.label}
      active={location.pathname === item.to || location.pathname.startsWith(`${item.to}/`)}
      aria-current={location.pathname === item.to ? "page" : undefined}
      onClick={close}
    />
  );

  return (
    <AppShell
      header={{ height: 60 }}
      navbar={{ width: 240, breakpoint: "sm", collapsed: { mobile: !opened } }}
      padding="lg"
    >
      <SkipLink />
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between" wrap="nowrap">
          <Group gap="sm" wrap="nowrap">
            <Burger opened={opened} onClick={toggle} hiddenFrom="sm" size="sm" aria-label="Toggle navigation" />
            <Text component={Link} to="/profile" fw={700} fz="lg" c="dark" td="none">
              OpMaestro
            </Text>
          </Group>
          <Group gap="md" wrap="nowrap">
            <Text fz="sm" truncate="end" maw={240}>
              <VisuallyHidden>Signed in as </VisuallyHidden>
              {user.name}
            </Text>
            <Button variant="default" size="xs" loading={signOut.isPending} onClick={() => signOut.mutate()}>
              Sign out
            </Button>
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="sm" component="nav" aria-label="Main">
        {NAV.map(navLink)}
        <NavLink label="Privacy" defaultOpened childrenOffset="md" component="div">
          {PRIVACY_NAV.map(navLink)}
        </NavLink>
        {isStaff(user) && (
          <NavLink label="Admin" defaultOpened childrenOffset="md" component="div">
            {ADMIN_NAV.map(navLink)}
            {isPrivacyStaff(user) && PRIVACY_ADMIN_NAV.map(navLink)}
          </NavLink>
        )}
        <Group component="footer" gap="md" mt="auto" pt="md">
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
      </AppShell.Navbar>
      <AppShell.Main id="main-content">
        {!user.email_verified && (
          <Alert color="yellow" title="Verify your email address" mb="lg">
            <Text mb="sm">
              Open the link we sent to <strong>{user.email}</strong>. Until then some actions, such as creating API
              tokens, stay unavailable.
            </Text>
            <ResendVerification email={user.email} />
          </Alert>
        )}
        <Suspense fallback={<PageLoader />}>
          <Outlet />
        </Suspense>
      </AppShell.Main>
    </AppShell>
  );
}

/** Staff pages: support, privacy officers and administrators only; others go to their profile. */
export function StaffOnly() {
  const me = useMe();
  if (me.isPending) return <PageLoader />;
  return isStaff(me.data) ? <Outlet /> : <Navigate to="/profile" replace />;
}
