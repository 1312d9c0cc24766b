import { Anchor, Box, Container, Text, Title } from "@mantine/core";
import { Link } from "react-router";

export function NotFoundPage() {
  return (
    <Container component="main" size={520} py={48}>
      <Title order={1} tabIndex={-1} mb="md">
        Page not found
      </Title>
      <Text mb="md">There is no page at this address.</Text>
      <Box>
        <Anchor component={Link} to="/">
          Go to the start page
        </Anchor>
      </Box>
    </Container>
  );
}
