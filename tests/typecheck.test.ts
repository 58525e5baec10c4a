// The types, as part of the README's test command: tsc over the platform, svelte-check over the
// dashboard (after svelte-kit sync writes the tsconfig it extends). A type error fails `npm test`.
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

const run = promisify(execFile)
const bin = (name: string) => new URL(`../node_modules/.bin/${name}`, import.meta.url).pathname
const root = new URL('..', import.meta.url).pathname
const dashboard = new URL('../dashboard/', import.meta.url).pathname

/** The command's output, whether it passed or not. */
async function outcome(file: string, args: string[], cwd: string): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run(file, args, { cwd, maxBuffer: 16 * 1024 * 1024 })
    return { code: 0, output: stdout + stderr }
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string }
    return { code: typeof e.code === 'number' ? e.code : 1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` }
  }
}

describe('types', () => {
  it('the platform type-checks (tsc --noEmit)', async () => {
    const { code, output } = await outcome(bin('tsc'), ['--noEmit', '-p', 'tsconfig.json'], root)
    expect(output.trim(), output).toBe('')
    expect(code).toBe(0)
  }, 300_000)

  it('the dashboard type-checks (svelte-check)', async () => {
    const sync = await outcome(bin('svelte-kit'), ['sync'], dashboard)
    expect(sync.code, sync.output).toBe(0)
    const { code, output } = await outcome(bin('svelte-check'), ['--tsconfig', './tsconfig.json', '--threshold', 'error', '--output', 'machine'], dashboard)
    expect(code, output).toBe(0)
    // the closing line counts what was checked: a run that checked nothing is not a pass
    expect(output).toMatch(/COMPLETED (\d+) FILES 0 ERRORS/)
    expect(Number(/COMPLETED (\d+) FILES/.exec(output)![1])).toBeGreaterThan(10)
  }, 300_000)
})
