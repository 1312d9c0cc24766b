import { Suspense } from "react";
import { Outlet } from "react-router";
import { CookieBannerMount } from "@/features/cookies/cookie-banner-mount";
import { PageLoader } from "@/shared/components/page-loader";
import { RouteFocus } from "./route-focus";

export function RootLayout() {
  return (
    <>
      <RouteFocus />
      <CookieBannerMount />
      <Suspense fallback={<PageLoader />}>
        <Outlet />
      </Suspense>
    </>
  );
}
