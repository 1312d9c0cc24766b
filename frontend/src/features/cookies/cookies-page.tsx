import { Alert, Anchor, Badge, Container, Group, Loader, Paper, Stack, Switch, Text, Title } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { useId, useMemo } from "react";
import { Link } from "react-router";

import { notifyError } from "@/shared/api/problem";
import { ConsentHistory } from "@/shared/components/consent-history";
import { PageTitle } from "@/shared/components/page-title";
import { formatDateTime, methodLabel } from "@/shared/lib/consent-format";

import { useCookieBanner, useCookieChoice, useSaveCookieChoice } from "./api/cookies";
import { gpcEnabled } from "./banner/config";
import type { BannerCategory, CategoryKey, CookieBanner, CookieConsentRecord } from "./banner/types";

function acceptedOf(choice: CookieConsentRecord | null): CategoryKey[] {
  if (!choice) return [];
  return (["preferences", "analytics", "marketing"] as const).filter((key) => choice.categories[key]);
}

interface CategoryCardProps {
  category: BannerCategory;
  checked: boolean;
  held: boolean;
  gpcNotice: string;
  saving: boolean;
  onChange: (on: boolean) => void;
}

function CategoryCard({ category, checked, held, gpcNotice, saving, onChange }: CategoryCardProps) {
  const id = useId();
  return (
    <Paper withBorder p="md" component="li" style={{ listStyle: "none" }}>
      <Stack gap="xs">
        <Group justify="space-between" wrap="nowrap" align="flex-start">
          {category.required ? (
            <Text fw={600}>{category.name}</Text>
          ) : (
            <Switch
              label={category.name}
              checked={checked}
              disabled={saving || held}
              onChange={(event) => onChange(event.currentTarget.checked)}
              aria-describedby={`${id}-description${held ? ` ${id}-gpc` : ""}`}
              size="md"
              styles={{ label: { fontWeight: 600 } }}
            />
          )}
          {category.required && (
            <Badge variant="outline" color="dark">
              Always on
            </Badge>
          )}
        </Group>
        <Text size="sm" id={`${id}-description`}>
          {category.description}
        </Text>
        {held && (
          <Text size="sm" fw={600} id={`${id}-gpc`}>
            {gpcNotice}
          </Text>
        )}
      </Stack>
    </Paper>
  );
}

function Choices({ banner, choice }: { banner: CookieBanner; choice: CookieConsentRecord | null }) {
  const save = useSaveCookieChoice();
  const gpc = gpcEnabled();
  const current = save.isPending ? save.variables.accepted : acceptedOf(choice);

  const change = (category: BannerCategory, on: boolean) => {
    const accepted = on ? [...current, category.key] : current.filter((key) => key !== category.key);
    save.mutate(
      { revision: banner.revision, accepted: [...new Set(accepted)], gpc },
      {
        onSuccess: () =>
          notifications.show({ color: "green", message: `${category.name} cookies are ${on ? "on" : "off"}.` }),
        onError: (error) => notifyError(error, `${category.name} cookies could not be changed`),
      },
    );
  };

  return (
    <Stack gap="sm">
      {choice ? (
        <Text size="sm" c="dimmed">
          Last chosen on {formatDateTime(choice.chosen_at)} via {methodLabel(choice.method)}
          {choice.revision !== banner.revision && " (before our cookies last changed: please check your choice)"}.
        </Text>
      ) : (
        <Text size="sm">You have not chosen yet: only necessary cookies are set.</Text>
      )}
      <Stack component="ul" gap="sm" p={0} m={0}>
        {banner.categories.map((category) => (
          <CategoryCard
            key={category.key}
            category={category}
            checked={category.required || current.includes(category.key)}
            held={gpc && category.key === "marketing"}
            gpcNotice={banner.texts.gpc_notice}
            saving={save.isPending}
            onChange={(on) => change(category, on)}
          />
        ))}
      </Stack>
    </Stack>
  );
}

/** Privacy > Cookies: the cookie categories with switches that record a new choice, and their history. */
export function CookiesPage() {
  const banner = useCookieBanner();
  const choice = useCookieChoice();
  const purposes = useMemo(
    () => new Set((banner.data?.categories ?? []).map((category) => category.purpose_key)),
    [banner.data],
  );
  const names = useMemo(
    () =>
      new Map((banner.data?.categories ?? []).map((category) => [category.purpose_key, `${category.name} cookies`])),
    [banner.data],
  );
  const failed = banner.isError ? banner.error : choice.isError ? choice.error : null;

  return (
    <Container size="md">
      <Stack gap="lg">
        <PageTitle>Cookies</PageTitle>
        <Text>
          Choose which cookies we may set in this browser. Each change is recorded with a signed receipt, and applies on
          every device you sign in from. The{" "}
          <Anchor component={Link} to="/cookie-policy">
            cookie policy
          </Anchor>{" "}
          lists every cookie.
        </Text>
        <section aria-labelledby="cookies-choices">
          <Title order={2} size="h3" id="cookies-choices" mb="sm">
            Your choices
          </Title>
          {(banner.isPending || choice.isPending) && !failed && (
            <Loader size="sm" role="status" aria-label="Loading your cookie choices" />
          )}
          {failed && (
            <Alert color="red" title="Your cookie choices could not be loaded">
              {failed.message}{" "}
              <Anchor
                component="button"
                onClick={() => {
                  void banner.refetch();
                  void choice.refetch();
                }}
              >
                Try again
              </Anchor>
            </Alert>
          )}
          {banner.isSuccess && choice.isSuccess && banner.data.categories.length === 0 && (
            <Text>We set no cookies that need a choice.</Text>
          )}
          {banner.isSuccess && choice.isSuccess && banner.data.categories.length > 0 && (
            <Choices banner={banner.data} choice={choice.data} />
          )}
        </section>
        <Paper withBorder p="md" component="section" aria-labelledby="cookies-history">
          <Title order={2} size="h3" id="cookies-history" mb="sm">
            History
          </Title>
          {banner.isSuccess ? (
            <ConsentHistory
              names={names}
              purposes={purposes}
              label="Cookie history"
              emptyText="No cookie choices recorded yet"
            />
          ) : (
            <Text size="sm">The history shows once the cookie categories have loaded.</Text>
          )}
        </Paper>
      </Stack>
    </Container>
  );
}
