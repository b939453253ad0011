// Where Spare keeps its state by default: the platform's app data folder.
import envPaths from 'env-paths'

/** The default data directory: $SPARE_DATA_DIR, else the platform's app data folder for Spare. */
export function defaultDataDir(): string {
  const fromEnv = process.env.SPARE_DATA_DIR
  if (fromEnv && fromEnv.trim()) return fromEnv
  return envPaths('Spare', { suffix: '' }).data
}
