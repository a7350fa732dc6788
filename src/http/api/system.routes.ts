import type { FastifyInstance } from 'fastify';
import type { ConfigService } from '../../services/config.service.js';
import type { HealthService } from '../../services/health.service.js';
import { externalBase } from '../auth.js';

export interface SystemInfo {
  version: string;
  storageDriver: string;
  externalUrl: string | undefined;
}

export async function systemRoutes(
  app: FastifyInstance,
  deps: { health: HealthService; info: SystemInfo; settings: Pick<ConfigService, 'publicInfo'> },
): Promise<void> {
  app.get('/api/v2.0/ping', async (_req, reply) => reply.header('content-type', 'text/plain; charset=utf-8').send('Pong'));

  app.get('/api/v2.0/health', async (_req, reply) => {
    const h = await deps.health.check();
    return reply.code(h.status === 'healthy' ? 200 : 503).send({
      status: h.status,
      components: h.components.map((c) => ({ name: c.name, status: c.status, ...(c.error ? { error: c.error } : {}) })),
    });
  });

  app.get('/api/v2.0/systeminfo', async (req) => {
    const url = externalBase(req, deps.info.externalUrl);
    const settings = await deps.settings.publicInfo();
    return {
      auth_mode: settings.authMode,
      harbor_version: `berth-${deps.info.version}`,
      registry_url: new URL(url).host,
      external_url: url,
      project_creation_restriction: settings.projectCreationRestriction,
      self_registration: settings.selfRegistration,
      has_ca_root: false,
      read_only: false,
      with_chartmuseum: false,
      notification_enable: false,
      registry_storage_provider_name: deps.info.storageDriver,
      banner_message: '',
    };
  });
}
