import type { FastifyInstance } from 'fastify';
import { Type as T } from '@sinclair/typebox';
import { systemResource } from '../../domain/permission.js';
import type { ConfigService } from '../../services/config.service.js';
import { type AuthOptions, requireApi } from '../auth.js';

// keys and their types are checked by the service, so that every problem is reported at once
const Configurations = T.Record(T.String(), T.Unknown());

/** Harbor's /configurations (system administrators): {value, editable} items; secrets are write-only. */
export async function configRoutes(app: FastifyInstance, deps: { config: ConfigService; auth: AuthOptions }): Promise<void> {
  const { config, auth } = deps;

  app.get('/api/v2.0/configurations', { schema: { tags: ['configure'], operationId: 'getConfigurations', summary: 'System settings (system admins); secrets are left out' } }, async (req) => {
    await requireApi(req, auth, 'read', systemResource('configuration'));
    return config.response();
  });

  app.put<{ Body: Record<string, unknown> }>('/api/v2.0/configurations', { schema: { tags: ['configure'], operationId: 'updateConfigurations', summary: 'Change some system settings (system admins)', body: Configurations } }, async (req) => {
    await requireApi(req, auth, 'update', systemResource('configuration'));
    await config.update({ principal: req.principal, ip: req.ip }, req.body);
    return {};
  });
}
