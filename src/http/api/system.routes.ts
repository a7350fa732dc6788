import type { FastifyInstance } from 'fastify';
import { notFound } from '../../domain/errors.js';
import { systemResource } from '../../domain/permission.js';
import type { ConfigService } from '../../services/config.service.js';
import type { HealthService } from '../../services/health.service.js';
import { type AuthOptions, externalBase, requireApi } from '../auth.js';

export interface SystemInfo {
  version: string;
  storageDriver: string;
  externalUrl: string | undefined;
  /** the storage volume's size and free space; undefined for object storage */
  volume?: () => Promise<{ total: number; free: number }>;
}

export async function systemRoutes(
  app: FastifyInstance,
  deps: { health: HealthService; info: SystemInfo; settings: Pick<ConfigService, 'publicInfo'>; auth: AuthOptions },
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

  // Harbor's SystemInfoApi.getVolumes: the registry storage's capacity, for system admins
  app.get('/api/v2.0/systeminfo/volumes', { schema: { tags: ['systeminfo'], summary: 'Size and free space of the blob storage volume' } }, async (req) => {
    await requireApi(req, deps.auth, 'read', systemResource('system-volumes'));
    const v = await deps.info.volume?.();
    return { storage: v ? [{ total: v.total, free: v.free }] : [] };
  });

  // Harbor serves its own CA here when it made one (has_ca_root); Berth does not make one
  app.get('/api/v2.0/systeminfo/getcert', { schema: { tags: ['systeminfo'], summary: 'The default root certificate (Berth has none: 404)' } }, async () => {
    throw notFound('no root certificate: Berth serves the certificate its operator configured in front of it');
  });
}
