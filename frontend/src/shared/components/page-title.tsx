import { Title, type TitleProps } from "@mantine/core";
import { useEffect, useRef } from "react";

interface PageTitleProps extends Omit<TitleProps, "order"> {
  /** Focus this heading when it appears, for a page that swaps its content without a route change. */
  focusOnMount?: boolean;
}

/**
 * A page's h1. The app moves focus to the page's h1 on every route change, so it is
 * focusable by script (tabIndex -1) but not a tab stop. Any `<h1>` works; this one adds the style.
 */
export function PageTitle({ children, focusOnMount = false, ...props }: PageTitleProps) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    if (focusOnMount) ref.current?.focus();
  }, [focusOnMount]);
  return (
    <Title ref={ref} order={1} tabIndex={-1} mb="md" style={{ outline: "none" }} {...props}>
      {children}
    </Title>
  );
}
