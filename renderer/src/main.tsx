// Entry point: apply the saved theme, pick the transport, render.
import { StrictMode } from 'react'
import { createRoot } from 'react-dom/client'
import './index.css'
import { App } from './App.tsx'
import { createEnvironment } from './lib/environment.ts'
import { SpareProvider } from './lib/spare-context.tsx'
import { applyTheme, readTheme, safeLocalStorage } from './lib/theme.ts'

applyTheme(document.documentElement, readTheme(safeLocalStorage()))

const container = document.getElementById('root')
if (!container) throw new Error('index.html has no #root element')

const env = createEnvironment(window)

createRoot(container).render(
  <StrictMode>
    <SpareProvider env={env}>
      <App />
    </SpareProvider>
  </StrictMode>,
)
