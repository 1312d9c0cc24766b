import { Navigate } from "react-router";
import { PageLoader } from "@/shared/components/page-loader";
import { useMe } from "@/shared/hooks/use-me";

/** `/`: the profile when signed in, else the sign-in page. */
export function RootRedirect() {
  const me = useMe();
  if (me.isPending) return <PageLoader />;
  return <Navigate to={me.data ? "/profile" : "/sign-in"} replace />;
}
