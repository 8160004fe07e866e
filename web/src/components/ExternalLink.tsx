import type { ReactNode } from 'react';

/** Whether a URL from alert data may become a link: only absolute http(s), never javascript: or data:. */
export function isSafeHref(href: unknown): href is string {
  return typeof href === 'string' && /^https?:\/\//i.test(href.trim());
}

/** A link to somewhere outside Firewatch; unsafe URLs render as plain text. */
export function ExternalLink(props: { href: unknown; children: ReactNode }) {
  if (!isSafeHref(props.href)) return <span>{props.children}</span>;
  return (
    <a href={props.href.trim()} target="_blank" rel="noopener noreferrer">
      {props.children}
    </a>
  );
}
