import { Alert, createTheme, type CSSVariablesResolver, MantineProvider, Notification } from "@mantine/core";
import { Notifications } from "@mantine/notifications";
import { type QueryClient, QueryClientProvider } from "@tanstack/react-query";
import type { ReactNode } from "react";

// Shade 8 and a darker "dimmed" keep text and buttons at WCAG AA contrast (4.5:1) on white.
export const theme = createTheme({
  primaryColor: "indigo",
  primaryShade: { light: 8, dark: 5 },
  fontFamily: "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif",
  components: {
    // Light-variant alert titles in the palette colour miss 4.5:1; body text colour passes.
    Alert: Alert.extend({ styles: { title: { color: "var(--mantine-color-text)" } } }),
    Notification: Notification.extend({
      defaultProps: { closeButtonProps: { "aria-label": "Dismiss notification" } },
      // Mantine's gray-6 description under a title falls short of 4.5:1 on white.
      styles: { description: { color: "var(--mantine-color-gray-8)" } },
    }),
  },
});

const cssVariablesResolver: CSSVariablesResolver = (current) => ({
  variables: {},
  light: {
    "--mantine-color-dimmed": current.colors.gray[7],
    "--mantine-color-anchor": current.colors.indigo[8],
    "--mantine-color-red-light-color": current.colors.red[9],
    "--mantine-color-error": current.colors.red[9],
  },
  dark: {},
});

export function Providers({ client, children }: { client: QueryClient; children: ReactNode }) {
  return (
    <MantineProvider theme={theme} defaultColorScheme="light" cssVariablesResolver={cssVariablesResolver}>
      <Notifications position="bottom-right" />
      <QueryClientProvider client={client}>{children}</QueryClientProvider>
    </MantineProvider>
  );
}
