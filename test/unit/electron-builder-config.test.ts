// electron-builder.yml, loaded and validated by electron-builder's own code (app-builder-lib: the
// same loader and the same JSON-schema validation, scheme.json through ajv, that `electron-builder`
// runs before packaging), plus the files it points at.
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { Ajv } from 'ajv'
import type { Configuration } from 'app-builder-lib'
import { getConfig, validateConfiguration } from 'app-builder-lib/out/util/config/config.js'
import type { DebugLogger } from 'builder-util'
import { describe, expect, it } from 'vitest'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
const quietLogger = { isEnabled: false, add() {} } as unknown as DebugLogger

function validate(config: unknown): Promise<void> {
  return validateConfiguration(structuredClone(config) as Configuration, quietLogger)
}

async function loadConfig(): Promise<Configuration> {
  return getConfig(root, path.join(root, 'electron-builder.yml'), null)
}

/** Width and height from a PNG's IHDR chunk. */
function pngSize(file: string): [number, number] {
  const buf = fs.readFileSync(file)
  expect(buf.subarray(1, 4).toString('latin1'), file).toBe('PNG')
  return [buf.readUInt32BE(16), buf.readUInt32BE(20)]
}

describe('electron-builder.yml', () => {
  it("passes electron-builder's own validation", async () => {
    const config = await loadConfig()
    await expect(validate(config)).resolves.toBeUndefined()
  })

  it('matches scheme.json exactly, without the type coercion electron-builder allows', async () => {
    const schemaFile = path.join(root, 'node_modules', 'app-builder-lib', 'scheme.json')
    const schema = JSON.parse(fs.readFileSync(schemaFile, 'utf8')) as object
    const check = new Ajv({ allErrors: true, strict: false }).compile(schema)
    const config = await loadConfig()
    expect(check(config), JSON.stringify(check.errors, null, 1)).toBe(true)
    expect(check({ ...config, nsis: { oneClick: 'false' } })).toBe(false)
  })

  it('describes the Spare app for every platform', async () => {
    const c = await loadConfig()
    expect(c.appId).toBe('dev.spare.app')
    expect(c.productName).toBe('Spare')
    expect(c.directories).toMatchObject({ output: 'release', buildResources: 'build' })
    // getConfig normalizes `files` into file sets, as electron-builder does.
    const files = (
      [c.files].flat() as Array<string | { filter?: string | string[] } | null>
    ).flatMap((f) => (typeof f === 'string' ? [f] : [f?.filter ?? []].flat()))
    expect(files).toEqual(expect.arrayContaining(['dist/**', 'renderer/dist/**', 'package.json']))
    expect(c.asarUnpack).toEqual(
      expect.arrayContaining([
        '**/*.node',
        '**/node_modules/sodium-native/prebuilds/**',
        '**/node_modules/udx-native/prebuilds/**',
        '**/node_modules/rocksdb-native/prebuilds/**',
      ]),
    )
    expect(c.linux?.target).toEqual(['AppImage', 'deb'])
    expect(c.linux?.category).toBe('Network')
    expect(c.linux?.maintainer).toMatch(/^.+ <.+@.+>$/)
    expect(c.mac?.target).toEqual(['dmg'])
    expect(c.mac?.hardenedRuntime).toBe(true)
    expect(c.win?.target).toEqual(['nsis'])
    expect(c.nsis).toMatchObject({ oneClick: false, perMachine: false })
    expect(c.electronFuses).toMatchObject({
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      grantFileProtocolExtraPrivileges: false,
      onlyLoadAppFromAsar: true,
    })
  })

  it('points at files that exist: entitlements, icons in every size, tray icons', async () => {
    const c = await loadConfig()
    for (const file of [
      c.mac?.entitlements,
      c.mac?.entitlementsInherit,
      c.mac?.icon,
      c.win?.icon,
    ]) {
      expect(typeof file === 'string' && fs.existsSync(path.join(root, file)), String(file)).toBe(
        true,
      )
    }
    const plist = fs.readFileSync(path.join(root, 'build/entitlements.mac.plist'), 'utf8')
    expect(plist).toContain('com.apple.security.cs.allow-jit')
    expect(fs.readFileSync(path.join(root, 'build/icon.svg'), 'utf8')).toMatch(/^<svg /)
    for (const size of [16, 32, 48, 64, 128, 256, 512, 1024]) {
      expect(pngSize(path.join(root, c.linux?.icon ?? 'missing', `${size}x${size}.png`))).toEqual([
        size,
        size,
      ])
    }
    expect(pngSize(path.join(root, 'build/icon.png'))).toEqual([1024, 1024])
    for (const state of ['idle', 'syncing', 'paused', 'error']) {
      expect(pngSize(path.join(root, `build/tray/tray-${state}.png`))).toEqual([16, 16])
      expect(pngSize(path.join(root, `build/tray/tray-${state}@2x.png`))).toEqual([32, 32])
    }
  })

  it('catches a broken configuration', async () => {
    const good = await loadConfig()
    await expect(validate({ ...good, notAnOption: true })).rejects.toThrow(
      /unknown property 'notAnOption'/,
    )
    await expect(validate({ ...good, nsis: { oneClick: 'sometimes' } })).rejects.toThrow(
      /configuration\.nsis\.oneClick/,
    )
    await expect(
      validate({ ...good, mac: { hardenedRuntime: true, target: { nope: 1 } } }),
    ).rejects.toThrow(/configuration\.mac/)
    await expect(
      validate({ ...good, linux: { ...good.linux, icons: 'build/icons' } }),
    ).rejects.toThrow(/configuration\.linux/)
  })
})
