import { useEffect, useState } from 'react';

async function copyText(text: string): Promise<boolean> {
  // The Clipboard API exists only in secure contexts (https or localhost).
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch {
      // fall through to the selection-based copy
    }
  }
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.style.position = 'fixed';
  area.style.opacity = '0';
  document.body.append(area);
  area.select();
  let copied = false;
  try {
    copied = document.execCommand('copy');
  } catch {
    copied = false;
  }
  area.remove();
  return copied;
}

export function CopyButton(props: { text: string; label?: string }) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  useEffect(() => {
    if (state === 'idle') return;
    const timer = setTimeout(() => setState('idle'), 1800);
    return () => clearTimeout(timer);
  }, [state]);
  const label = props.label ?? 'Copy';
  return (
    <button type="button" className="button small copy" onClick={async () => setState((await copyText(props.text)) ? 'copied' : 'failed')} aria-live="polite">
      {state === 'copied' ? 'Copied' : state === 'failed' ? 'Select and copy' : label}
    </button>
  );
}

/** A block of text to paste elsewhere, with its copy button. */
export function Snippet(props: { title: string; text: string }) {
  return (
    <div className="snippet">
      <div className="snippet-head">
        <span>{props.title}</span>
        <CopyButton text={props.text} />
      </div>
      <pre><code>{props.text}</code></pre>
    </div>
  );
}
