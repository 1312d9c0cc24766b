import "@mantine/core/styles.css";
import "@mantine/notifications/styles.css";
import "./app/app.css";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { RouterProvider } from "react-router";
import { Providers } from "./app/providers";
import { createQueryClient } from "./app/query-client";
import { createAppRouter, isPublicPath } from "./app/router";
import { onUnauthorized } from "./shared/api/client";
import { ME_QUERY_KEY } from "./shared/hooks/use-me";
import { signInPath } from "./shared/lib/safe-next";

const queryClient = createQueryClient();
const router = createAppRouter();

// A 401 means the session is gone: forget the user and send them to sign in, then back here.
onUnauthorized(() => {
  queryClient.setQueryData(ME_QUERY_KEY, null);
  const { pathname, search } = router.state.location;
  if (isPublicPath(pathname)) return;
  void router.navigate(signInPath(pathname + search), { replace: true });
});

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <Providers client={queryClient}>
      <RouterProvider router={router} />
    </Providers>
  </StrictMode>,
);
