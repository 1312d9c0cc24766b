import { Box, Text } from "@mantine/core";
import type { PolicyVersion } from "@/features/auth/api/auth-api";

/** A policy's title and version, with its text one click away (a native, keyboard-friendly disclosure). */
export function PolicySummary({ policy }: { policy: PolicyVersion }) {
  return (
    <Box component="details" fz="sm" mt={4}>
      <Text component="summary" fz="sm" c="var(--mantine-color-anchor)" style={{ cursor: "pointer" }}>
        Read the {policy.title} (version {policy.version})
      </Text>
      <Box
        tabIndex={0}
        role="region"
        aria-label={policy.title}
        mah={240}
        p="xs"
        mt={4}
        style={{ overflow: "auto", whiteSpace: "pre-wrap", border: "1px solid var(--mantine-color-gray-3)" }}
      >
        {policy.body}
      </Box>
    </Box>
  );
}
