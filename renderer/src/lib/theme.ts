// The theme setting: follow the system (default), or force light or dark. Stored in localStorage
// and applied as <html data-theme>, which the `dark:` variant in index.css reads.

export type ThemeSetting = 'system' | 'light' | 'dark'

export const THEME_STORAGE_KEY = 'spare.theme'

export const THEME_OPTIONS: ReadonlyArray<{ value: ThemeSetting; label: string }> = [
  { value: 'system', label: 'Follow system' },
  { value: 'light', label: 'Light' },
  { value: 'dark', label: 'Dark' },
]

function isThemeSetting(value: unknown): value is ThemeSetting {
  return value === 'system' || value === 'light' || value === 'dark'
}

export function readTheme(storage: Pick<Storage, 'getItem'> | null): ThemeSetting {
  try {
    const value = storage?.getItem(THEME_STORAGE_KEY)
    return isThemeSetting(value) ? value : 'system'
  } catch {
    // Storage can be disabled (privacy settings); the system theme is a fine fallback.
    return 'system'
  }
}

export function saveTheme(storage: Pick<Storage, 'setItem'> | null, theme: ThemeSetting): void {
  try {
    storage?.setItem(THEME_STORAGE_KEY, theme)
  } catch {
    // Not persisted, but still applied for this session.
  }
}

export function applyTheme(root: HTMLElement, theme: ThemeSetting): void {
  if (theme === 'system') root.removeAttribute('data-theme')
  else root.setAttribute('data-theme', theme)
}

export function safeLocalStorage(): Storage | null {
  try {
    return window.localStorage
  } catch {
    return null
  }
}
