/**
 * What the page benchmarks share: the built app served by `vite preview` in its own process group
 * (stopped as a group, also after errors), Debian's Chromium with the flags that keep it off the
 * closed network, and the statistics they print.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >>> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** "median (min-max, n=N)" in ms. */
export const stats = (xs: number[]) =>
  `${median(xs).toFixed(1)} ms (${Math.min(...xs).toFixed(1)}-${Math.max(...xs).toFixed(1)}, n=${xs.length})`;

/** Serves `dist/` on `port` (run `npm run build` first). */
export function startPreview(port: number): ChildProcess {
  return spawn('npx', ['vite', 'preview', '--port', String(port), '--strictPort', '--host', '127.0.0.1'], {
    stdio: 'ignore',
    detached: true,
  });
}

/** Stops the server and every child it started (its own process group), then waits for it. */
export async function stop(server: ChildProcess): Promise<void> {
  if (server.pid === undefined || server.exitCode !== null) return;
  const exited = new Promise<void>((r) => server.once('exit', () => r()));
  try {
    process.kill(-server.pid, 'SIGTERM');
  } catch {
    return;
  }
  const timer = setTimeout(() => {
    try {
      process.kill(-server.pid!, 'SIGKILL');
    } catch {
      /* gone */
    }
  }, 3000);
  await exited;
  clearTimeout(timer);
}

/** Chromium as the e2e tests start it (Debian's when present), plus any `extraArgs`. */
export function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({
    ...(existsSync('/usr/bin/chromium') ? { executablePath: '/usr/bin/chromium' } : {}),
    args: [
      '--no-sandbox',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
      ...extraArgs,
    ],
  });
}

/** Opens `url` once the preview server answers (it takes a moment to start): up to 50 tries, 200 ms apart. */
export async function gotoWhenServed(page: Page, url: string): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      await page.goto(url);
      return;
    } catch (e) {
      if (i >= 49) throw e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** tsx names functions with esbuild's `__name` helper, which functions sent to the page then call. */
export const NAME_SHIM = { content: 'globalThis.__name = (f) => f;' };
