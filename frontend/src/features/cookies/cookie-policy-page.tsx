import { Alert, Anchor, Badge, Group, Loader, Stack, Table, Text, Title } from "@mantine/core";

import { PageTitle } from "@/shared/components/page-title";
import { PublicDocument } from "@/shared/components/public-document";
import { formatDate } from "@/shared/lib/consent-format";

import { useCookieBanner } from "./api/cookies";
import type { BannerCategory, CookieBanner } from "./banner/types";
import { CookieSettingsLink } from "./cookie-banner-mount";

function CategorySection({ category }: { category: BannerCategory }) {
  const titleId = `cookie-category-${category.key}`;
  return (
    <section aria-labelledby={titleId}>
      <Group gap="sm" mb="xs">
        <Title order={2} size="h3" id={titleId}>
          {category.name}
        </Title>
        <Badge variant="outline" color="dark">
          {category.required ? "Always on" : "Only with your consent"}
        </Badge>
      </Group>
      <Text mb="sm">{category.description}</Text>
      {category.cookies.length === 0 ? (
        <Text size="sm">We set no cookies in this category.</Text>
      ) : (
        <Table.ScrollContainer minWidth={640}>
          <Table striped aria-label={`${category.name} cookies`}>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Cookie</Table.Th>
                <Table.Th>Provider</Table.Th>
                <Table.Th>Purpose</Table.Th>
                <Table.Th>Duration</Table.Th>
                <Table.Th>Party</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {category.cookies.map((cookie) => (
                <Table.Tr key={cookie.name}>
                  <Table.Td>
                    <Text size="sm" ff="monospace">
                      {cookie.name}
                    </Text>
                    {cookie.pattern && (
                      <Text size="xs" c="dimmed">
                        * stands for any characters
                      </Text>
                    )}
                  </Table.Td>
                  <Table.Td>{cookie.provider}</Table.Td>
                  <Table.Td>{cookie.description}</Table.Td>
                  <Table.Td>{cookie.duration}</Table.Td>
                  <Table.Td>{cookie.party === "first" ? "First party" : "Third party"}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
    </section>
  );
}

function Policy({ banner }: { banner: CookieBanner }) {
  const marketing = banner.categories.find((category) => category.key === "marketing")?.name ?? "Marketing";
  return (
    <Stack gap="xl">
      <Text size="sm" c="dimmed">
        Last updated {formatDate(banner.updated_at)} (revision {banner.revision}).
      </Text>
      <Text>
        Cookies are small files a website stores in your browser. We set the necessary ones to run the service; every
        other category is off until you accept it, and you can change your choice at any time with{" "}
        <CookieSettingsLink fz="md" />. We ask again when our cookies change and {banner.reprompt_after_days} days after
        your choice.
      </Text>
      {banner.categories.map((category) => (
        <CategorySection key={category.key} category={category} />
      ))}
      <section aria-labelledby="cookie-signals">
        <Title order={2} size="h3" id="cookie-signals" mb="xs">
          Browser privacy signals
        </Title>
        <Stack gap="xs">
          <Text>
            <strong>Global Privacy Control.</strong> When your browser sends the Global Privacy Control signal, we treat
            it as a refusal of {marketing.toLowerCase()} cookies: they stay off, the switch is disabled, and the refusal
            is recorded as given by the signal.
          </Text>
          <Text>
            <strong>Do Not Track.</strong>{" "}
            {banner.do_not_track_honored
              ? `We treat a Do Not Track signal like Global Privacy Control: ${marketing.toLowerCase()} cookies stay off.`
              : "We do not act on Do Not Track signals. To refuse cookies, use the cookie settings or Global Privacy Control."}
          </Text>
        </Stack>
      </section>
      <Text>
        How we handle personal data is explained in our{" "}
        <Anchor href={banner.links.privacy_policy}>privacy policy</Anchor>.
      </Text>
    </Stack>
  );
}

/** The public cookie policy, generated from the inventory the banner shows. */
export function CookiePolicyPage() {
  const banner = useCookieBanner();
  return (
    <PublicDocument>
      <Stack gap="lg">
        <PageTitle>Cookie policy</PageTitle>
        {banner.isPending && <Loader size="sm" role="status" aria-label="Loading the cookie policy" />}
        {banner.isError && (
          <Alert color="red" title="The cookie policy could not be loaded">
            {banner.error.message}{" "}
            <Anchor component="button" onClick={() => void banner.refetch()}>
              Try again
            </Anchor>
          </Alert>
        )}
        {banner.isSuccess && <Policy banner={banner.data} />}
      </Stack>
    </PublicDocument>
  );
}
