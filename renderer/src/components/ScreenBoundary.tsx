// Catches what a screen throws while rendering (a value no one expected from the node, a bug), so
// the app around it stays: the nav, the pause toggle and the other screens still work, and the
// screen says it failed instead of the whole window going blank.
import { Component, type ErrorInfo, type ReactNode } from 'react'
import { RefreshCw } from 'lucide-react'
import { errorMessage } from '../lib/errors.ts'
import { Button, ErrorAlert } from './ui.tsx'

interface State {
  error: unknown
  failed: boolean
}

export class ScreenBoundary extends Component<{ children: ReactNode }, State> {
  override state: State = { error: null, failed: false }

  static getDerivedStateFromError(error: unknown): State {
    return { error, failed: true }
  }

  override componentDidCatch(error: unknown, info: ErrorInfo): void {
    console.error('spare: a screen failed', error, info.componentStack)
  }

  override render(): ReactNode {
    if (!this.state.failed) return this.props.children
    return (
      <ErrorAlert
        title="This screen stopped working"
        action={
          <Button
            size="sm"
            icon={RefreshCw}
            onClick={() => this.setState({ error: null, failed: false })}
          >
            Try again
          </Button>
        }
      >
        {errorMessage(this.state.error)} Other screens still work; reloading the page starts this
        one afresh.
      </ErrorAlert>
    )
  }
}
