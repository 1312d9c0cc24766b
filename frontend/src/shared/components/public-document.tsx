import { Anchor, Box, Container, Paper, Text } from "@mantine/core";
import type { ReactNode } from "react";
import { Link } from "react-router";

/** A public document (a policy): the product name linking home, and the text on one wide card. */
export function PublicDocument({ children }: { children: ReactNode }) {
  return (
    <Box bg="gray.0" mih="100vh" py={48}>
      <Container size="md">
        <Box component="header" mb="lg">
          <Anchor component={Link} to="/" underline="never" c="dark">
            <Text component="span" fw={700} fz="xl">
              OpMaestro
            </Text>
          </Anchor>
        </Box>
        <Paper component="main" withBorder shadow="sm" radius="md" p="xl">
          {children}
        </Paper>
      </Container>
    </Box>
  );
}
