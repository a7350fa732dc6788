import { type Static, Type as T } from '@sinclair/typebox';

/**
 * The one configuration schema: it gives the TypeScript type, the validator and the JSON Schema
 * that `berth config schema` prints. Defaults < YAML file < BERTH_* environment variables; an
 * environment variable's name is the key path in upper snake case (storage.s3.bucket →
 * BERTH_STORAGE_S3_BUCKET).
 */
export const ConfigSchema = T.Object(
  {
    listen: T.String({ default: '127.0.0.1:5000', description: 'host:port to listen on' }),
    dataDir: T.String({ default: './data', description: 'folder for the embedded database, blobs and keys' }),
    externalUrl: T.Optional(T.String({ format: 'uri', description: 'URL clients use to reach Berth (token realm, Location headers)' })),
    adminPassword: T.Optional(T.String({ minLength: 1, description: 'password of user admin when it is first created', writeOnly: true })),
    log: T.Object(
      { level: T.Union([T.Literal('fatal'), T.Literal('error'), T.Literal('warn'), T.Literal('info'), T.Literal('debug'), T.Literal('trace'), T.Literal('silent')], { default: 'info' }) },
      { default: {}, additionalProperties: false },
    ),
    database: T.Object(
      {
        driver: T.Union([T.Literal('sqlite'), T.Literal('postgres')], { default: 'sqlite' }),
        sqlitePath: T.Optional(T.String({ description: 'default: <dataDir>/berth.db' })),
        url: T.Optional(T.String({ description: 'postgres://user@host:port/db', writeOnly: true })),
        poolSize: T.Integer({ minimum: 1, maximum: 200, default: 10 }),
        schema: T.Optional(
          T.String({ pattern: '^[a-z_][a-z0-9_]{0,62}$', description: 'PostgreSQL schema for all of Berth\'s tables (created when missing); default: the first of the search_path' }),
        ),
      },
      { default: {}, additionalProperties: false },
    ),
    redis: T.Object(
      {
        url: T.Optional(T.String({ pattern: '^rediss?://', description: 'redis://[user:password@]host:port[/db]: shared state of several instances (the failed-login counters); unset: each instance keeps its own', writeOnly: true })),
        keyPrefix: T.String({ minLength: 1, maxLength: 100, default: 'berth:', description: 'prefix of every key Berth writes (several installations can share one Redis)' }),
      },
      { default: {}, additionalProperties: false },
    ),
    storage: T.Object(
      {
        driver: T.Union([T.Literal('filesystem'), T.Literal('s3')], { default: 'filesystem' }),
        filesystem: T.Object(
          {
            root: T.Optional(T.String({ description: 'default: <dataDir>' })),
            fsync: T.Boolean({ default: true, description: 'fsync blobs before they become visible' }),
          },
          { default: {}, additionalProperties: false },
        ),
        s3: T.Object(
          {
            endpoint: T.Optional(T.String({ format: 'uri' })),
            region: T.String({ default: 'us-east-1' }),
            bucket: T.Optional(T.String({ minLength: 3 })),
            prefix: T.String({ default: '' }),
            accessKeyId: T.Optional(T.String({ writeOnly: true })),
            secretAccessKey: T.Optional(T.String({ writeOnly: true })),
            forcePathStyle: T.Boolean({ default: true }),
            partSizeBytes: T.Integer({ minimum: 5 * 1024 * 1024, default: 16 * 1024 * 1024 }),
          },
          { default: {}, additionalProperties: false },
        ),
        redirect: T.Boolean({ default: false, description: 'answer blob GETs with a redirect to a presigned object-store URL' }),
        redirectTtlSeconds: T.Integer({ minimum: 1, maximum: 604800, default: 1200 }),
      },
      { default: {}, additionalProperties: false },
    ),
    uploads: T.Object(
      {
        sessionTtlSeconds: T.Integer({ minimum: 1, default: 86_400, description: 'an upload idle this long expires and its data is swept' }),
        sweepIntervalSeconds: T.Integer({ minimum: 1, default: 600 }),
        chunkMinLength: T.Integer({ minimum: 0, default: 0, description: 'OCI-Chunk-Min-Length advertised on upload sessions (0: none)' }),
        maxBlobBytes: T.Integer({ minimum: 0, default: 0, description: 'largest blob accepted; 0 for no limit' }),
      },
      { default: {}, additionalProperties: false },
    ),
    limits: T.Object(
      { manifestMaxBytes: T.Integer({ minimum: 1024, default: 4 * 1024 * 1024 }) },
      { default: {}, additionalProperties: false },
    ),
    pullGate: T.Object(
      {
        scanTimeoutSeconds: T.Number({ minimum: 0, maximum: 3600, default: 120, description: 'how long a pull of an unscanned image waits for its scan (project prevent_vul) before a 412 "scan pending"' }),
        cacheTtlMs: T.Integer({ minimum: 0, maximum: 60_000, default: 2000, description: "how long a project's policy and an artifact's verdict are reused without a database lookup" }),
      },
      { default: {}, additionalProperties: false },
    ),
    auth: T.Object(
      {
        service: T.String({ default: 'berth', description: 'the token service name (service= of the challenge, token audience)' }),
        issuer: T.String({ default: 'berth-token-issuer' }),
        tokenTtlSeconds: T.Integer({ minimum: 60, maximum: 86_400, default: 1800 }),
        sessionTimeoutSeconds: T.Integer({ minimum: 60, default: 3600, description: 'idle time after which a UI session ends' }),
        loginThrottle: T.Object(
          {
            maxFailuresPerUser: T.Integer({ minimum: 1, default: 5, description: 'failed logins of one username within the window that start a lockout' }),
            maxFailuresPerAddress: T.Integer({ minimum: 1, default: 20, description: 'failed logins from one address (IPv6: one /64) within the window that start a lockout' }),
            windowSeconds: T.Integer({ minimum: 1, default: 300 }),
            lockoutSeconds: T.Integer({ minimum: 1, default: 60, description: 'the first lockout; each next one of the same key doubles' }),
            maxLockoutSeconds: T.Integer({ minimum: 1, default: 1800 }),
            maxTrackedKeys: T.Integer({ minimum: 100, default: 100_000, description: 'usernames and addresses remembered at once (bounded memory)' }),
          },
          { default: {}, additionalProperties: false },
        ),
        tokenKeyFile: T.Optional(T.String({ description: 'default: <dataDir>/keys/token-es256.jwk' })),
        secretKeyFile: T.Optional(T.String({ description: 'AES key sealing stored secrets (OIDC CLI secrets); default: <dataDir>/keys/secret.key' })),
      },
      { default: {}, additionalProperties: false },
    ),
    scannerAdapter: T.Object(
      {
        enabled: T.Boolean({ default: false, description: "serve Berth's scanner as a Harbor scanner adapter at /api/v1 (metadata, scan, report)" }),
        apiKey: T.Optional(T.String({ minLength: 16, writeOnly: true, description: 'the key adapter clients send (X-ScannerAdapter-API-Key, or Authorization: Bearer); required when enabled' })),
        maxConcurrentScans: T.Integer({ minimum: 1, maximum: 64, default: 2 }),
        maxRequests: T.Integer({ minimum: 1, default: 1000, description: 'scan requests and reports held in memory at once' }),
        reportTtlSeconds: T.Integer({ minimum: 10, default: 3600, description: 'how long a finished report can be fetched' }),
      },
      { default: {}, additionalProperties: false },
    ),
    externalScanners: T.Object(
      {
        requestTimeoutSeconds: T.Integer({ minimum: 1, maximum: 600, default: 10, description: 'an adapter silent this long fails the request' }),
        scanTimeoutSeconds: T.Integer({ minimum: 10, maximum: 86_400, default: 1800, description: 'the longest one scan through an adapter may take, report polling included' }),
      },
      { default: {}, additionalProperties: false },
    ),
    vulndb: T.Object(
      {
        mirrorUrl: T.Optional(
          T.String({ format: 'uri', description: "base URL of an osv.dev-style bucket serving <Ecosystem>/all.zip (osv.dev's own: https://osv-vulnerabilities.storage.googleapis.com); unset: no mirror updates" }),
        ),
        ecosystems: T.String({ default: 'Alpine,Debian,Go,Maven,npm,PyPI,RubyGems,crates.io', description: 'comma-separated OSV ecosystems fetched from the mirror' }),
        kevUrl: T.Optional(T.String({ format: 'uri', description: "CISA KEV catalog JSON (https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json); unset: not fetched" })),
        epssUrl: T.Optional(T.String({ format: 'uri', description: "FIRST EPSS scores csv or csv.gz (https://epss.empiricalsecurity.com/epss_scores-current.csv.gz); unset: not fetched" })),
        updateIntervalSeconds: T.Integer({ minimum: 0, default: 0, description: 'how often the mirror is asked for changes; 0: never on a schedule (POST /api/v2.0/vulndb/update still works)' }),
        maxDownloadBytes: T.Integer({ minimum: 1024, default: 2 * 1024 * 1024 * 1024, description: 'largest feed file accepted from the mirror' }),
        downloadTimeoutSeconds: T.Integer({ minimum: 1, default: 600 }),
      },
      { default: {}, additionalProperties: false },
    ),
    jobs: T.Object(
      {
        inProcess: T.Boolean({ default: true, description: 'run queued jobs (scans, scan-all, CVE exports) in this process; false leaves them to `berth worker`' }),
        concurrency: T.Integer({ minimum: 1, maximum: 64, default: 2, description: 'jobs run at once by this instance' }),
        leaseSeconds: T.Number({ minimum: 0.2, maximum: 3600, default: 60, description: "a claimed job is the instance's for this long, renewed while it runs; a crashed instance's jobs run again after it" }),
        pollMs: T.Integer({ minimum: 10, maximum: 60_000, default: 1000, description: 'how often the queue is looked at when nothing was enqueued here' }),
        retryBaseSeconds: T.Number({ minimum: 0, default: 2, description: 'first retry delay of a failed job; doubled each attempt' }),
        scheduleCheckSeconds: T.Number({ minimum: 0.1, default: 30, description: 'how often the scan-all schedule is looked at' }),
      },
      { default: {}, additionalProperties: false },
    ),
    scan: T.Object(
      { layerConcurrency: T.Integer({ minimum: 1, maximum: 32, default: 4, description: 'layers of one image analysed at once' }) },
      { default: {}, additionalProperties: false },
    ),
    shutdownTimeoutSeconds: T.Integer({ minimum: 0, default: 30, description: 'how long in-flight requests may finish on SIGTERM' }),
  },
  { additionalProperties: false, $id: 'https://berth.dev/schemas/config.json', title: 'Berth configuration' },
);

export type Config = Static<typeof ConfigSchema>;
