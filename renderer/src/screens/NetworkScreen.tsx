// Network: this node's identity and network, and the peers it is connected to.
import { ArrowDown, ArrowUp, Globe, Laptop, RefreshCw, Server, Users } from 'lucide-react'
import type { NetworkMode, NodeStatus, Peer } from '../../../shared/contract.ts'
import { CopyButton } from '../components/CopyButton.tsx'
import { Badge, Button, ErrorAlert, PageHeader, Panel, Spinner, Stat } from '../components/ui.tsx'
import { errorMessage } from '../lib/errors.ts'
import {
  formatBytes,
  formatCount,
  formatDateTime,
  formatDuration,
  formatRelative,
} from '../lib/format.ts'
import { useNow } from '../lib/spare-context.tsx'
import { useNodeOverview } from '../lib/useNodeOverview.ts'

export const NETWORK_MODES: Record<NetworkMode, { label: string; description: string }> = {
  public: {
    label: 'Public',
    description: 'The public HyperDHT: peers anywhere on the internet can reach this node.',
  },
  local: {
    label: 'Local',
    description: 'A local test network on 127.0.0.1: only nodes on this machine can connect.',
  },
  custom: {
    label: 'Custom bootstrap',
    description: 'A private network reached through the bootstrap nodes below.',
  },
}

function NodePanel({ status }: { status: NodeStatus }) {
  const mode = NETWORK_MODES[status.network.mode]
  return (
    <Panel title="This node" titleId="node-panel-title">
      <div className="space-y-5 p-5">
        <div>
          <p className="text-xs font-medium text-zinc-500 dark:text-zinc-400">Node ID</p>
          <div className="mt-1 flex items-start gap-1">
            <p
              data-testid="node-id"
              className="min-w-0 font-mono text-sm break-all text-zinc-900 dark:text-zinc-100"
            >
              {status.nodeId}
            </p>
            <CopyButton value={status.nodeId} label="Copy node ID" />
          </div>
        </div>
        <dl className="grid grid-cols-2 gap-x-4 gap-y-4 sm:grid-cols-4">
          <Stat label="Uptime">{formatDuration(status.uptime)}</Stat>
          <Stat label="Peers">{formatCount(status.peers)}</Stat>
          <Stat label="Folders">{formatCount(status.folders)}</Stat>
          <Stat label="Version">{status.version}</Stat>
        </dl>
        <div className="rounded-lg border border-zinc-200 p-4 dark:border-zinc-800">
          <div className="flex flex-wrap items-center gap-2">
            <Globe aria-hidden="true" className="size-4 text-zinc-500" />
            <h3 className="text-sm font-medium text-zinc-900 dark:text-zinc-100">Network</h3>
            <Badge tone={status.network.mode === 'public' ? 'green' : 'amber'}>{mode.label}</Badge>
          </div>
          <p className="mt-1.5 text-sm text-zinc-500 dark:text-zinc-400">{mode.description}</p>
          <p className="mt-3 text-xs font-medium text-zinc-500 dark:text-zinc-400">
            Bootstrap nodes
          </p>
          {status.network.bootstrap.length > 0 ? (
            <ul aria-label="Bootstrap nodes" className="mt-1 flex flex-wrap gap-1.5">
              {status.network.bootstrap.map((node) => (
                <li
                  key={node}
                  className="rounded-md bg-zinc-100 px-2 py-0.5 font-mono text-xs text-zinc-700 dark:bg-zinc-800 dark:text-zinc-300"
                >
                  {node}
                </li>
              ))}
            </ul>
          ) : (
            <p className="mt-1 text-sm text-zinc-700 dark:text-zinc-300">
              HyperDHT’s default bootstrap nodes
            </p>
          )}
        </div>
      </div>
    </Panel>
  )
}

function PeerRow({
  peer,
  now,
  folderNames,
}: {
  peer: Peer
  now: number
  folderNames: ReadonlyMap<string, string>
}) {
  const since = formatRelative(peer.connectedAt, now)
  return (
    <li
      aria-label={`Peer ${peer.id}`}
      className="grid grid-cols-1 gap-x-6 gap-y-2 px-5 py-4 sm:grid-cols-[minmax(0,1fr)_auto]"
    >
      <div className="flex min-w-0 items-start gap-3">
        <div
          aria-hidden="true"
          className="flex size-8 shrink-0 items-center justify-center rounded-full bg-zinc-100 text-zinc-500 dark:bg-zinc-800 dark:text-zinc-400"
        >
          <Laptop className="size-4" />
        </div>
        <div className="min-w-0">
          <p
            className="truncate font-mono text-sm text-zinc-900 dark:text-zinc-100"
            title={peer.id}
          >
            {peer.id}
          </p>
          <p className="mt-0.5 text-xs text-zinc-500 dark:text-zinc-400">
            Connected{' '}
            <time dateTime={peer.connectedAt} title={formatDateTime(peer.connectedAt)}>
              {since ?? peer.connectedAt}
            </time>
          </p>
          {peer.folders.length > 0 ? (
            <ul aria-label="Shared folders" className="mt-2 flex flex-wrap gap-1.5">
              {peer.folders.map((id) => (
                <li key={id}>
                  <Badge tone="indigo">{folderNames.get(id) ?? id}</Badge>
                </li>
              ))}
            </ul>
          ) : (
            <p className="mt-1 text-xs text-zinc-500 dark:text-zinc-400">No shared folders</p>
          )}
        </div>
      </div>
      <dl className="flex gap-5 pl-11 text-sm tabular-nums sm:pl-0">
        <div className="flex items-center gap-1.5" title="Sent to this peer">
          <dt>
            <ArrowUp aria-hidden="true" className="size-3.5 text-emerald-600" />
            <span className="sr-only">Uploaded</span>
          </dt>
          <dd className="font-medium text-zinc-900 dark:text-zinc-100">
            {formatBytes(peer.bytesUp)}
          </dd>
        </div>
        <div className="flex items-center gap-1.5" title="Received from this peer">
          <dt>
            <ArrowDown aria-hidden="true" className="size-3.5 text-sky-600" />
            <span className="sr-only">Downloaded</span>
          </dt>
          <dd className="font-medium text-zinc-900 dark:text-zinc-100">
            {formatBytes(peer.bytesDown)}
          </dd>
        </div>
      </dl>
    </li>
  )
}

export function NetworkScreen({ refreshMs = 5000 }: { refreshMs?: number }) {
  const overview = useNodeOverview({ peers: true, refreshMs })
  const now = useNow(15_000)
  const { status, peers, error } = overview

  return (
    <>
      <PageHeader
        title="Network"
        description="This node and the peers it is connected to right now."
      />
      {error ? (
        <ErrorAlert
          className="mb-4"
          title={
            status ? 'Couldn’t refresh the network status' : 'Couldn’t load the network status'
          }
          action={
            <Button size="sm" icon={RefreshCw} onClick={overview.retry}>
              Try again
            </Button>
          }
        >
          {errorMessage(error)}
        </ErrorAlert>
      ) : null}
      {overview.loading ? <Spinner label="Loading network status…" /> : null}
      <div className="space-y-6">
        {status ? <NodePanel status={status} /> : null}
        {peers ? (
          <Panel
            title="Peers"
            titleId="peers-panel-title"
            actions={
              <span className="flex items-center gap-1.5 text-xs text-zinc-500 dark:text-zinc-400">
                <Users aria-hidden="true" className="size-3.5" />
                {formatCount(peers.length)} connected
              </span>
            }
          >
            {peers.length === 0 ? (
              <div className="flex items-start gap-3 px-5 py-8">
                <Server aria-hidden="true" className="mt-0.5 size-5 shrink-0 text-zinc-400" />
                <p className="text-sm text-zinc-500 dark:text-zinc-400">
                  No peers connected. Peers show up here when another device opens a folder you
                  share, or shares one with you.
                </p>
              </div>
            ) : (
              <ul aria-label="Peers" className="divide-y divide-zinc-200 dark:divide-zinc-800">
                {peers.map((peer) => (
                  <PeerRow key={peer.id} peer={peer} now={now} folderNames={overview.folderNames} />
                ))}
              </ul>
            )}
          </Panel>
        ) : null}
      </div>
    </>
  )
}
