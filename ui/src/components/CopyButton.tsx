import { useState } from "preact/hooks";

type Props = { text: string; testid: string; label?: string };

/** Copies `text` to the clipboard and says so. (The window cannot open arbitrary pages itself: an
 * address to visit is copied, or opened by the shell where the core knows it.) */
export function CopyButton({ text, testid, label = "Copy" }: Props) {
  const [copied, setCopied] = useState(false);
  const copy = () =>
    navigator.clipboard?.writeText(text).then(
      () => setCopied(true),
      () => setCopied(false),
    );
  return (
    <button type="button" data-testid={testid} onClick={() => void copy()}>
      {copied ? "Copied" : label}
    </button>
  );
}
