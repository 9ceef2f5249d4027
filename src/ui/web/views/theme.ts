const THEME_STORAGE = 'qwen3-serve.theme';

type Theme = 'dark' | 'light';

/** Dark by default; the toggle switches to light and back, remembered in this browser. */
export function setUpTheme(toggle: HTMLButtonElement): void {
  const apply = (theme: Theme) => {
    document.documentElement.dataset.theme = theme;
    toggle.textContent = theme === 'dark' ? '☀' : '☾';
    toggle.setAttribute('aria-label', theme === 'dark' ? 'Switch to the light theme' : 'Switch to the dark theme');
    toggle.title = toggle.getAttribute('aria-label')!;
  };
  apply(localStorage.getItem(THEME_STORAGE) === 'light' ? 'light' : 'dark');
  toggle.addEventListener('click', () => {
    const next: Theme = document.documentElement.dataset.theme === 'dark' ? 'light' : 'dark';
    localStorage.setItem(THEME_STORAGE, next);
    apply(next);
  });
}
