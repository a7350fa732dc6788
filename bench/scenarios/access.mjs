// Authorisation cost on the hot path (issue 3): manifest HEAD by a developer with a bearer token
// on a private project against an anonymous HEAD on a public one (the same server, the same
// manifest shape): within 20%, because a token's grants are checked from its claims and the
// role is cached per token, not looked up per request. And token issuance: /service/token
// rates for a developer (Basic, argon2id verified once per cache window), for anonymous pulls
// of a public repository, and for a robot.
import { basic } from '../lib/client.mjs';
import { ab } from '../lib/http-load.mjs';
import { interleaved, loadCount } from '../lib/measure.mjs';
import { ADMIN_PASSWORD } from '../lib/servers.mjs';
import { imageBase } from './manifests.mjs';

const ACCEPT = 'application/vnd.oci.image.manifest.v1+json';
const DEV = { username: 'bench-dev', password: 'Bench-Dev-12345' };

async function api(t, method, path, body, expect = [200, 201]) {
  const res = await t.request(method, path, {
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: Buffer.from(JSON.stringify(body)) }),
    expect,
  });
  return res.body.length ? JSON.parse(res.body.toString('utf8')) : undefined;
}

export async function access(ctx, { connections, seconds, runs }) {
  const admin = ctx.berth.anon.as('berth admin', basic('admin', ADMIN_PASSWORD));
  await api(admin, 'POST', '/api/v2.0/projects', { project_name: 'bench-private', metadata: { public: 'false' } }, [201, 409]);
  await api(admin, 'POST', '/api/v2.0/users', { username: DEV.username, password: DEV.password, email: 'bench-dev@example.test', realname: 'Bench Dev' }, [201, 409]);
  await api(admin, 'POST', '/api/v2.0/projects/bench-private/members', { role_id: 2, member_user: { username: DEV.username } }, [201, 409]);
  const robot = await api(admin, 'POST', '/api/v2.0/robots', {
    name: `bench-${Date.now()}`,
    level: 'project',
    duration: -1,
    permissions: [{ kind: 'project', namespace: 'bench-private', access: [{ resource: 'repository', action: 'pull' }] }],
  });
  // the same manifest shape in a public and in a private repository
  const pub = 'library/bench-access';
  const priv = 'bench-private/app';
  for (const repo of [pub, priv]) await admin.putManifest(repo, 'latest', (await imageBase(admin, repo))(0));

  const devBasic = basic(DEV.username, DEV.password);
  const tokenFor = async (authorization, repo) => {
    const res = await ctx.berth.anon.request('GET', `/service/token?service=berth&scope=${encodeURIComponent(`repository:${repo}:pull`)}`, {
      headers: authorization ? { authorization } : {},
    });
    return JSON.parse(res.body.toString('utf8')).token;
  };
  const devToken = await tokenFor(devBasic, priv);
  const anonLabel = 'berth anonymous, public project';
  const targets = [
    { label: anonLabel, pid: ctx.berth.server.pid, url: `${ctx.berth.anon.base}/v2/${pub}/manifests/latest`, headers: {} },
    { label: 'berth developer bearer, private project', pid: ctx.berth.server.pid, url: `${ctx.berth.anon.base}/v2/${priv}/manifests/latest`, headers: { Authorization: `Bearer ${devToken}` } },
  ];
  const load = (t, s) => ab({ url: t.url, method: 'HEAD', headers: { Accept: ACCEPT, ...t.headers }, connections, seconds: s });
  for (const t of targets) await load(t, 1);
  const values = await interleaved(targets, runs, async (t) => {
    const r = await load(t, seconds);
    return { value: r.rps, ops: r.requests };
  });
  ctx.report.add({
    title: `manifest HEAD, developer bearer (private) vs anonymous (public), ab c=${connections}`,
    unit: 'req/s',
    higher: true,
    baseline: anonLabel,
    values: Object.fromEntries(targets.map((t, i) => [t.label, values[i]])),
    cpu: { unit: 'µs/req', values: Object.fromEntries(targets.map((t, i) => [t.label, values.cpuPerOp[i].map((x) => x * 1e6)])) },
    target: { ratio: 0.8 },
    note: 'ratio against the anonymous figure of the same run',
  });

  // token issuance: each request is a full /service/token round trip that signs a new ES256 JWT
  const issuers = [
    { label: 'developer (Basic)', pid: ctx.berth.server.pid, authorization: devBasic, repo: priv },
    { label: 'robot (Basic)', pid: ctx.berth.server.pid, authorization: basic(robot.name, robot.secret), repo: priv },
    { label: 'anonymous, public repository', pid: ctx.berth.server.pid, authorization: undefined, repo: pub },
  ];
  const rates = await interleaved(issuers, runs, (t) => loadCount(seconds * 1000, 8, () => tokenFor(t.authorization, t.repo)));
  ctx.report.add({
    title: 'token issuance, GET /service/token, c=8',
    unit: 'tokens/s',
    higher: true,
    values: Object.fromEntries(issuers.map((t, i) => [t.label, rates[i]])),
    cpu: { unit: 'µs/token', values: Object.fromEntries(issuers.map((t, i) => [t.label, rates.cpuPerOp[i].map((x) => x * 1e6)])) },
    note: 'no peer figure: Distribution has no token service of its own',
  });
}
