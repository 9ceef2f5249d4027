import DOMPurify from 'dompurify';
import hljs from 'highlight.js/lib/common';
import { Marked } from 'marked';

/**
 * Markdown to safe HTML: marked renders (GitHub-flavoured), highlight.js colours fenced code by
 * its language (or a guess when none is named), and DOMPurify removes anything executable, since
 * the text comes from a model that may repeat whatever a document or user fed it.
 */
const marked = new Marked({
  gfm: true,
  breaks: false,
  renderer: {
    code({ text, lang }) {
      const language = lang?.trim().split(/\s+/)[0] ?? '';
      const known = language !== '' && hljs.getLanguage(language) !== undefined;
      const highlighted = known ? hljs.highlight(text, { language, ignoreIllegals: true }) : hljs.highlightAuto(text);
      const name = known ? language : (highlighted.language ?? 'text');
      return `<pre data-language="${name}"><code class="hljs language-${name}">${highlighted.value}</code></pre>\n`;
    },
  },
});

export function markdownToHtml(text: string): string {
  const html = marked.parse(text, { async: false });
  return DOMPurify.sanitize(html, { USE_PROFILES: { html: true } });
}

/**
 * Fills `element` with the rendered text and a copy button on each code block. The buttons are
 * added as DOM nodes after sanitising, so their handlers are the page's own.
 */
export function renderMarkdown(element: HTMLElement, text: string): void {
  element.innerHTML = markdownToHtml(text);
  for (const pre of element.querySelectorAll('pre')) {
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'copy-code';
    button.textContent = 'Copy';
    button.setAttribute('aria-label', `Copy ${pre.dataset.language ?? ''} code`.replace('  ', ' '));
    button.addEventListener('click', () => void copyText(pre.querySelector('code')?.textContent ?? '', button));
    pre.prepend(button);
  }
}

/** Copies to the clipboard; says so on the button for a moment. */
export async function copyText(text: string, button: HTMLButtonElement): Promise<void> {
  const label = button.textContent;
  try {
    await navigator.clipboard.writeText(text);
    button.textContent = 'Copied';
  } catch {
    // The clipboard API needs a secure context (https or localhost); elsewhere say it did not work.
    button.textContent = 'Copy failed';
  }
  setTimeout(() => (button.textContent = label), 1500);
}
