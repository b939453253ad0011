// The screens, in nav order. Data-driven so later screens (Donate, Ledger) are one entry each,
// added only once their engine APIs exist.
import type { ComponentType } from 'react'
import { FolderSync, Network, Settings, type LucideIcon } from 'lucide-react'
import { FoldersScreen } from './screens/FoldersScreen.tsx'
import { NetworkScreen } from './screens/NetworkScreen.tsx'
import { SettingsScreen } from './screens/SettingsScreen.tsx'

export interface NavItem {
  /** The hash route: #/<id>. */
  id: string
  /** The link's text and accessible name, and the page title. */
  label: string
  icon: LucideIcon
  Screen: ComponentType
}

export const NAV_ITEMS: readonly NavItem[] = [
  { id: 'folders', label: 'Folders', icon: FolderSync, Screen: FoldersScreen },
  { id: 'network', label: 'Network', icon: Network, Screen: NetworkScreen },
  { id: 'settings', label: 'Settings', icon: Settings, Screen: SettingsScreen },
]
