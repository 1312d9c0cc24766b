import { lazy } from "react";
import { createBrowserRouter, type RouteObject } from "react-router";
import { NotFoundPage } from "./not-found-page";
import { PublicLayout } from "./public-layout";
import { RootLayout } from "./root-layout";
import { RootRedirect } from "./root-redirect";

// Every page is its own chunk, so the sign-in route loads only what it needs.
const SignInPage = lazy(() => import("@/features/auth/sign-in-page").then((m) => ({ default: m.SignInPage })));
const SignUpPage = lazy(() => import("@/features/auth/sign-up-page").then((m) => ({ default: m.SignUpPage })));
const VerifyEmailPage = lazy(() =>
  import("@/features/auth/verify-email-page").then((m) => ({ default: m.VerifyEmailPage })),
);
const ForgotPasswordPage = lazy(() =>
  import("@/features/auth/forgot-password-page").then((m) => ({ default: m.ForgotPasswordPage })),
);
const ResetPasswordPage = lazy(() =>
  import("@/features/auth/reset-password-page").then((m) => ({ default: m.ResetPasswordPage })),
);
const SignedInLayout = lazy(() => import("./signed-in-layout").then((m) => ({ default: m.SignedInLayout })));
const StaffOnly = lazy(() => import("./signed-in-layout").then((m) => ({ default: m.StaffOnly })));
const ProfilePage = lazy(() => import("@/features/profile/profile-page").then((m) => ({ default: m.ProfilePage })));
const SecurityPage = lazy(() => import("@/features/security/security-page").then((m) => ({ default: m.SecurityPage })));
const WebhooksPage = lazy(() => import("@/features/webhooks/webhooks-page").then((m) => ({ default: m.WebhooksPage })));
const CloseAccountPage = lazy(() =>
  import("@/features/account/close-account-page").then((m) => ({ default: m.CloseAccountPage })),
);
const ConsentsPage = lazy(() => import("@/features/consent/consents-page").then((m) => ({ default: m.ConsentsPage })));
const UnsubscribePage = lazy(() =>
  import("@/features/consent/unsubscribe-page").then((m) => ({ default: m.UnsubscribePage })),
);
const YourDataPage = lazy(() =>
  import("@/features/data-requests/your-data-page").then((m) => ({ default: m.YourDataPage })),
);
const PrivacyRequestPage = lazy(() =>
  import("@/features/data-requests/privacy-request-page").then((m) => ({ default: m.PrivacyRequestPage })),
);
const PrivacyRequestVerifyPage = lazy(() =>
  import("@/features/data-requests/privacy-request-verify-page").then((m) => ({ default: m.PrivacyRequestVerifyPage })),
);
const DataRequestsAdminPage = lazy(() =>
  import("@/features/data-requests-admin/data-requests-admin-page").then((m) => ({
    default: m.DataRequestsAdminPage,
  })),
);
const AdminUsersPage = lazy(() =>
  import("@/features/admin/admin-users-page").then((m) => ({ default: m.AdminUsersPage })),
);
const PurposesPage = lazy(() =>
  import("@/features/consent-admin/purposes-page").then((m) => ({ default: m.PurposesPage })),
);
const CookiesPage = lazy(() => import("@/features/cookies/cookies-page").then((m) => ({ default: m.CookiesPage })));
const PolicyPage = lazy(() => import("@/features/policies/policy-page").then((m) => ({ default: m.PolicyPage })));
const CookiePolicyPage = lazy(() =>
  import("@/features/cookies/cookie-policy-page").then((m) => ({ default: m.CookiePolicyPage })),
);
const CookiesAdminPage = lazy(() =>
  import("@/features/cookies-admin/cookies-admin-page").then((m) => ({ default: m.CookiesAdminPage })),
);
const IntegrationsPage = lazy(() =>
  import("@/features/integrations/integrations-page").then((m) => ({ default: m.IntegrationsPage })),
);
const BillingPage = lazy(() => import("@/features/billing/billing-page").then((m) => ({ default: m.BillingPage })));
const ConsentDashboardPage = lazy(() =>
  import("@/features/consent-admin/consent-dashboard-page").then((m) => ({ default: m.ConsentDashboardPage })),
);

/** Paths (and their sub-paths) that render without the navigation and never bounce to sign-in. */
export const PUBLIC_PATHS = [
  "/sign-in",
  "/sign-up",
  "/verify-email",
  "/forgot-password",
  "/reset-password",
  "/unsubscribe",
  "/privacy-request",
  "/cookie-policy",
];

export function isPublicPath(pathname: string): boolean {
  return PUBLIC_PATHS.some((path) => pathname === path || pathname.startsWith(`${path}/`));
}

export const routes: RouteObject[] = [
  {
    element: <RootLayout />,
    children: [
      { index: true, element: <RootRedirect /> },
      { path: "cookie-policy", element: <CookiePolicyPage /> },
      { path: "privacy", element: <PolicyPage kind="privacy" /> },
      { path: "terms", element: <PolicyPage kind="terms" /> },
      { path: "us-transfer-notice", element: <PolicyPage kind="us_transfer_notice" /> },
      {
        element: <PublicLayout />,
        children: [
          { path: "sign-in", element: <SignInPage /> },
          { path: "sign-up", element: <SignUpPage /> },
          { path: "verify-email", element: <VerifyEmailPage /> },
          { path: "forgot-password", element: <ForgotPasswordPage /> },
          { path: "reset-password", element: <ResetPasswordPage /> },
          { path: "unsubscribe/:token", element: <UnsubscribePage /> },
          { path: "privacy-request", element: <PrivacyRequestPage /> },
          { path: "privacy-request/verify", element: <PrivacyRequestVerifyPage /> },
        ],
      },
      {
        element: <SignedInLayout />,
        children: [
          { path: "profile", element: <ProfilePage /> },
          { path: "security", element: <SecurityPage /> },
          { path: "settings/webhooks", element: <WebhooksPage /> },
          { path: "billing", element: <BillingPage /> },
          { path: "close-account", element: <CloseAccountPage /> },
          { path: "settings/integrations", element: <IntegrationsPage /> },
          { path: "privacy/consents", element: <ConsentsPage /> },
          { path: "privacy/data", element: <YourDataPage /> },
          { path: "privacy/cookies", element: <CookiesPage /> },
          {
            element: <StaffOnly />,
            children: [
              { path: "admin/users", element: <AdminUsersPage /> },
              { path: "admin/purposes", element: <PurposesPage /> },
              { path: "admin/consent", element: <ConsentDashboardPage /> },
              { path: "admin/data-requests", element: <DataRequestsAdminPage /> },
              { path: "admin/cookies", element: <CookiesAdminPage /> },
            ],
          },
        ],
      },
      { path: "*", element: <NotFoundPage /> },
    ],
  },
];

export function createAppRouter() {
  return createBrowserRouter(routes);
}
