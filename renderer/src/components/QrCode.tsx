// A QR code of a text, drawn as an SVG data: URL (allowed by the CSP's img-src 'self' data:).
import { useEffect, useState } from 'react'
import QRCode from 'qrcode'

export async function qrDataUrl(text: string): Promise<string> {
  const svg = await QRCode.toString(text, {
    type: 'svg',
    errorCorrectionLevel: 'M',
    margin: 2,
    color: { dark: '#18181b', light: '#ffffff' },
  })
  return `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`
}

export function QrCode({ text, label }: { text: string; label: string }) {
  const [state, setState] = useState<{ text: string; url: string | null; failed: boolean } | null>(
    null,
  )
  useEffect(() => {
    let cancelled = false
    qrDataUrl(text).then(
      (url) => {
        if (!cancelled) setState({ text, url, failed: false })
      },
      () => {
        // Too long for a QR code: the text and the Copy button still work.
        if (!cancelled) setState({ text, url: null, failed: true })
      },
    )
    return () => {
      cancelled = true
    }
  }, [text])

  const current = state?.text === text ? state : null
  if (current?.failed) {
    return <p className="text-xs text-zinc-500">This invite is too long to show as a QR code.</p>
  }
  return (
    <div className="size-40 shrink-0 overflow-hidden rounded-xl border border-zinc-200 bg-white p-1.5 dark:border-zinc-700">
      {current?.url ? (
        <img src={current.url} alt={label} className="size-full [image-rendering:pixelated]" />
      ) : (
        <div
          role="status"
          aria-label="Drawing QR code"
          className="size-full animate-pulse bg-zinc-100"
        />
      )}
    </div>
  )
}
