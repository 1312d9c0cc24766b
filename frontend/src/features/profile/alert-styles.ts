/** Alert titles in the body text colour: the palette's light-variant titles miss 4.5:1 contrast. */
export const ALERT_STYLES = { title: { color: "var(--mantine-color-text)" } };
