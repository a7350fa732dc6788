import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

// Runs in a worker thread with its own connection. CommonJS, because an eval worker is one.
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const db = new Database(workerData.path);
db.pragma('busy_timeout = 5000');
const timer = setInterval(() => {
  try { db.pragma('wal_checkpoint(PASSIVE)'); } catch (e) { parentPort.postMessage(String(e && e.message || e)); }
}, workerData.intervalMs);
parentPort.on('message', (m) => {
  if (m !== 'stop') return;
  clearInterval(timer);
  try { db.pragma('wal_checkpoint(PASSIVE)'); } catch {}
  db.close();
  parentPort.close();
});
`;

/**
 * SQLite's automatic WAL checkpoint runs inside whichever commit crosses the threshold, on the
 * event loop, and fsyncs the database file there: tens of milliseconds during which no request
 * is served. Checkpoints run here instead, on a thread of their own; the connection keeps a far
 * higher automatic threshold only as a fallback should this thread die.
 */
export function startCheckpointer(path: string, intervalMs = 250, onError: (message: string) => void = () => undefined): () => Promise<void> {
  const worker = new Worker(WORKER, {
    eval: true,
    workerData: { path, intervalMs, module: createRequire(import.meta.url).resolve('better-sqlite3') },
  });
  worker.on('message', (m: unknown) => onError(String(m)));
  worker.on('error', (e) => onError(e.message));
  worker.unref();
  const exited = new Promise<void>((done) => worker.once('exit', () => done()));
  // resolves once the thread has closed its connection: until then it may still be writing the
  // -wal and -shm files beside the database
  return () => {
    // referenced again while it stops: an unreferenced worker is not waited for, and a process
    // with nothing else to do would exit (with code 0) before the close returned
    worker.ref();
    worker.postMessage('stop');
    return exited;
  };
}
