// The screens, in nav order. Data-driven: a screen is one entry.
import type { ComponentType } from 'react'
import { FolderSync, HandHeart, Network, ScrollText, Settings, type LucideIcon } from 'lucide-react'
import { DonateScreen } from './screens/DonateScreen.tsx'
import { FoldersScreen } from './screens/FoldersScreen.tsx'
import { LedgerScreen } from './screens/LedgerScreen.tsx'
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
  { id: 'donate', label: 'Donate', icon: HandHeart, Screen: DonateScreen },
  { id: 'ledger', label: 'Ledger', icon: ScrollText, Screen: LedgerScreen },
  { id: 'settings', label: 'Settings', icon: Settings, Screen: SettingsScreen },
]
