// Entry point: apply the saved theme, pick the transport, render.
import { StrictMode } from 'react'
import { createRoot } from 'react-dom/client'
import './index.css'
import { App } from './App.tsx'
import { findBridge } from './lib/bridge-transport.ts'
import { createEnvironment } from './lib/environment.ts'
import { SpareProvider } from './lib/spare-context.tsx'
import { applyTheme, readTheme, safeLocalStorage } from './lib/theme.ts'
import { takeSessionFromUrl } from './lib/web-session.ts'

applyTheme(document.documentElement, readTheme(safeLocalStorage()))

const container = document.getElementById('root')
if (!container) throw new Error('index.html has no #root element')

// In a browser, a login link lands on /#session=ID: keep the session, clear the address bar.
if (!findBridge(window as { spare?: unknown })) takeSessionFromUrl(window)
const env = createEnvironment(window)

createRoot(container).render(
  <StrictMode>
    <SpareProvider env={env}>
      <App />
    </SpareProvider>
  </StrictMode>,
)
