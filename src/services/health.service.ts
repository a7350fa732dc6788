export interface ComponentHealth {
  name: string;
  status: 'healthy' | 'unhealthy';
  error?: string;
}

/** Runs each component's check with a time limit; Harbor's /api/v2.0/health shape. */
export class HealthService {
  constructor(private readonly checks: Record<string, () => Promise<unknown>>) {}

  async check(timeoutMs = 3000): Promise<{ status: 'healthy' | 'unhealthy'; components: ComponentHealth[] }> {
    const components = await Promise.all(
      Object.entries(this.checks).map(async ([name, fn]): Promise<ComponentHealth> => {
        let timer: NodeJS.Timeout | undefined;
        try {
          await Promise.race([
            fn(),
            new Promise((_, rej) => {
              timer = setTimeout(() => rej(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
            }),
          ]);
          return { name, status: 'healthy' };
        } catch (e) {
          return { name, status: 'unhealthy', error: e instanceof Error ? e.message : String(e) };
        } finally {
          clearTimeout(timer);
        }
      }),
    );
    return { status: components.every((c) => c.status === 'healthy') ? 'healthy' : 'unhealthy', components };
  }
}
