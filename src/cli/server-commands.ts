/**
 * `pushline serve`, `key` and `worker` are loaded when one of them runs, not when the CLI
 * starts: their packages (fastify, @fastify/*, prom-client, bullmq, ioredis) are optional peer
 * dependencies, and `pushline send` or `--help` must work without them. Missing, they end in
 * one line that names the install.
 */
import { CliError, EXIT } from './exit-codes.js';

export const SERVER_PACKAGES = 'fastify @fastify/rate-limit @fastify/swagger prom-client bullmq ioredis';

/** Imports a module needing the server packages; a missing one ends in one line naming the install. */
export async function load<T>(what: string, importer: () => Promise<T>): Promise<T> {
  try {
    return await importer();
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') throw error;
    const name = /Cannot find (?:package|module) '([^']+)'/.exec((error as Error).message)?.[1];
    if (name === undefined || name.startsWith('.') || name.startsWith('/')) throw error;
    throw new CliError(
      `pushline ${what} needs the ${name} package: npm install ${SERVER_PACKAGES}`,
      EXIT.config,
      { cause: error },
    );
  }
}

export const serveCommands = () => load('serve', () => import('./serve.js'));
export const workerCommand = () => load('worker', () => import('./worker.js'));
