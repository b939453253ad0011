// Vite config of the renderer: the React UI shared by the Electron window and the daemon's web UI.
// `npm run build:renderer` writes renderer/dist, which the app and the daemon serve as static files.
import { fileURLToPath } from 'node:url'
import { defineConfig, type Plugin } from 'vite'
import react from '@vitejs/plugin-react'
import tailwindcss from '@tailwindcss/vite'

const root = fileURLToPath(new URL('.', import.meta.url))

/**
 * The dev server injects inline scripts (React Fast Refresh preamble, HMR client), which the strict
 * CSP in index.html forbids. In `vite` dev mode only, drop the CSP meta tag; production builds keep
 * it untouched.
 */
function relaxCspInDev(): Plugin {
  return {
    name: 'spare:relax-csp-in-dev',
    apply: 'serve',
    transformIndexHtml(html) {
      return html.replace(/<meta\s+http-equiv="Content-Security-Policy"[^>]*>\s*/i, '')
    },
  }
}

export default defineConfig({
  root,
  base: './',
  plugins: [react(), tailwindcss(), relaxCspInDev()],
  build: {
    outDir: fileURLToPath(new URL('./dist', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    // Keep every asset a separate file: inlined data: scripts or fonts would fight the CSP.
    assetsInlineLimit: 0,
  },
  server: { host: '127.0.0.1' },
  preview: { host: '127.0.0.1' },
})
