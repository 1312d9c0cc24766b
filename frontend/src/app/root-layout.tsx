import { Suspense } from "react";
import { Outlet } from "react-router";
import { PageLoader } from "@/shared/components/page-loader";
import { RouteFocus } from "./route-focus";

export function RootLayout() {
  return (
    <>
      <RouteFocus />
      <Suspense fallback={<PageLoader />}>
        <Outlet />
      </Suspense>
    </>
  );
}
