import { Center, Loader } from "@mantine/core";

/** A centred spinner with an accessible name, for pages and lazy routes that are loading. */
export function PageLoader({ label = "Loading" }: { label?: string }) {
  return (
    <Center py="xl" role="status" aria-live="polite">
      <Loader role="status" aria-label={label} />
    </Center>
  );
}
