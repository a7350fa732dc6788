import { Redis } from 'ioredis';

/**
 * A connection to the Redis at `url`, or the reason it could not be made yet (it keeps trying in
 * the background). Commands fail at once while it is down (no offline queue): callers fall back
 * rather than wait. The URL, which may hold a password, is never part of what is reported.
 */
export async function openRedis(url: string, onError: (err: unknown) => void): Promise<{ redis: Redis; connected: boolean }> {
  const redis = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    // reconnect with a capped backoff, for ever: Redis coming back is picked up
    retryStrategy: (times) => Math.min(200 * times, 5000),
  });
  redis.on('error', onError);
  try {
    await redis.connect();
    return { redis, connected: true };
  } catch {
    return { redis, connected: false };
  }
}

/** Closes the connection, politely when it is up. */
export async function closeRedis(redis: Redis): Promise<void> {
  if (redis.status === 'ready') await redis.quit().catch(() => redis.disconnect());
  else redis.disconnect();
}
