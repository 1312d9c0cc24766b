import { Anchor, Group } from "@mantine/core";
import { Link } from "react-router";

/** The links under a public page's form. */
export function AuthFooter({ links }: { links: Array<{ to: string; label: string }> }) {
  return (
    <Group justify="center" gap="lg" mt="lg">
      {links.map((link) => (
        <Anchor key={link.to} component={Link} to={link.to} fz="sm">
          {link.label}
        </Anchor>
      ))}
    </Group>
  );
}
