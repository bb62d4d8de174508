import { vi } from 'vitest';
import { main } from './main';

/** Test support: runs the CLI in-process on the cpu backend and captures stdout, stderr and the exit code. */
export async function runCli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
  try {
    const code = await main([...argv, '--backend', 'cpu']);
    return { code, out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}
