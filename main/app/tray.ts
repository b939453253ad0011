// The tray icon: a view of the one TrayState (tray-state.ts). render() rebuilds icon, tooltip and
// the whole menu from the state every time; nothing here keeps state of its own.
import path from 'node:path'
import {
  Menu,
  Tray,
  nativeImage,
  type MenuItemConstructorOptions,
  type NativeImage,
} from 'electron'
import {
  TRAY_ICON_NAMES,
  trayIcon,
  trayMenu,
  trayTooltip,
  type TrayAction,
  type TrayIconName,
  type TrayMenuItem,
  type TrayState,
} from './tray-state.ts'

function toTemplate(
  item: TrayMenuItem,
  onAction: (action: TrayAction) => void,
): MenuItemConstructorOptions {
  switch (item.kind) {
    case 'label':
      return { label: item.label, enabled: false }
    case 'separator':
      return { type: 'separator' }
    case 'action':
      return { label: item.label, enabled: item.enabled, click: () => onAction(item.action) }
    case 'checkbox':
      return {
        type: 'checkbox',
        label: item.label,
        checked: item.checked,
        enabled: item.enabled,
        click: () => onAction(item.action),
      }
  }
}

export class TrayView {
  #tray: Tray
  #icons: Map<TrayIconName, NativeImage>
  #onAction: (action: TrayAction) => void

  constructor(iconDir: string, onAction: (action: TrayAction) => void, onClick: () => void) {
    // tray-NAME.png is 16 px; Electron picks tray-NAME@2x.png (32 px) on HiDPI screens.
    this.#icons = new Map(
      TRAY_ICON_NAMES.map((name) => [
        name,
        nativeImage.createFromPath(path.join(iconDir, `tray-${name}.png`)),
      ]),
    )
    this.#onAction = onAction
    this.#tray = new Tray(this.#icon('paused'))
    // Windows users expect a click on the tray icon to open the app; elsewhere it opens the menu.
    if (process.platform === 'win32') this.#tray.on('click', onClick)
  }

  #icon(name: TrayIconName): NativeImage {
    return this.#icons.get(name) ?? nativeImage.createEmpty()
  }

  render(state: TrayState): void {
    if (this.#tray.isDestroyed()) return
    this.#tray.setImage(this.#icon(trayIcon(state)))
    this.#tray.setToolTip(trayTooltip(state))
    const template = trayMenu(state).map((item) => toTemplate(item, this.#onAction))
    this.#tray.setContextMenu(Menu.buildFromTemplate(template))
  }

  destroy(): void {
    if (!this.#tray.isDestroyed()) this.#tray.destroy()
  }
}
