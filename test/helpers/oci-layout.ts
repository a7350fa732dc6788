import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { copyFile, link, mkdir, mkdtemp, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { createGzip } from 'node:zlib';
import { REPO_ROOT, type ImageManifest, type TestImages } from './images.js';

const run = promisify(execFile);

/** One layer to put on top: the folder's content lands at the image's root. */
export interface LayerSpec {
  dir: string;
  createdBy: string;
}

export interface BuiltImage {
  layout: string;
  tag: string;
  /** `oci:<layout>:<tag>` for skopeo */
  ref: string;
  digest: string;
  manifest: ImageManifest;
  blobPath(digest: string): string;
}

const blobPathIn = (layout: string) => (digest: string) => join(layout, 'blobs', ...digest.split(':'));

/**
 * An image made of the cached Debian `bookworm` image of test/helpers/images.ts and the given
 * layers, written here as an OCI image layout at `layout` (the base's blobs are hard-linked when
 * the file system allows, copied otherwise). The layers are made by GNU tar and gzip, not by
 * `umoci insert`: Debian's umoci 0.4.7 cut the end off small layers here (the last file's tail
 * and the end-of-archive blocks missing).
 */
export async function imageOnBookworm(base: TestImages, layout: string, tag: string, layers: readonly LayerSpec[]): Promise<BuiltImage> {
  const blob = blobPathIn(layout);
  await mkdir(join(layout, 'blobs/sha256'), { recursive: true });
  await writeFile(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const { manifest: baseManifest } = await base.manifest('bookworm');
  for (const digest of [baseManifest.config.digest, ...baseManifest.layers.map((l) => l.digest)]) {
    await link(base.blobPath(digest), blob(digest)).catch(() => copyFile(base.blobPath(digest), blob(digest)));
  }
  const config = JSON.parse((await base.blob(baseManifest.config.digest)).toString('utf8')) as {
    rootfs: { type: string; diff_ids: string[] };
    history?: { created?: string; created_by?: string }[];
  };
  const manifest: ImageManifest = { ...baseManifest, layers: [...baseManifest.layers] };
  for (const l of layers) {
    const { digest, size, diffId } = await writeLayer(l.dir, layout);
    manifest.layers.push({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest, size });
    config.rootfs.diff_ids.push(diffId);
    (config.history ??= []).push({ created: new Date().toISOString(), created_by: l.createdBy });
  }
  const configBody = Buffer.from(JSON.stringify(config));
  manifest.config = { mediaType: 'application/vnd.oci.image.config.v1+json', digest: await putBlob(layout, configBody), size: configBody.length };
  const body = Buffer.from(JSON.stringify(manifest));
  const digest = await putBlob(layout, body);
  const index = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest, size: body.length, annotations: { 'org.opencontainers.image.ref.name': tag } }],
  };
  await writeFile(join(layout, 'index.json'), JSON.stringify(index));
  return { layout, tag, ref: `oci:${layout}:${tag}`, digest, manifest, blobPath: blob };
}

async function putBlob(layout: string, data: Buffer): Promise<string> {
  const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`;
  await writeFile(blobPathIn(layout)(digest), data);
  return digest;
}

/** tar of the folder's content (root-owned, names sorted, no "./" prefix), gzipped into a blob. */
async function writeLayer(dir: string, layout: string): Promise<{ digest: string; size: number; diffId: string }> {
  const top = (await readdir(dir)).sort();
  const tar = spawn('tar', ['--sort=name', '--numeric-owner', '--owner=0', '--group=0', '--format=posix', '--pax-option=delete=atime,delete=ctime', '-C', dir, '-cf', '-', ...top], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  tar.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => tar.on('close', resolve));
  const diff = createHash('sha256');
  const compressed = createHash('sha256');
  let size = 0;
  const tmp = join(layout, 'blobs', `.layer-${process.pid}-${Date.now()}`);
  const gz = createGzip();
  gz.on('data', (c: Buffer) => {
    compressed.update(c);
    size += c.length;
  });
  await Promise.all([
    pipeline(
      tar.stdout,
      new Transform({
        transform(c: Buffer, _e, cb) {
          diff.update(c);
          cb(null, c);
        },
      }),
      gz,
      createWriteStream(tmp),
    ),
    exited.then((code) => {
      if (code !== 0) throw new Error(`tar of ${dir} failed (${code}): ${stderr}`);
    }),
  ]);
  const digest = `sha256:${compressed.digest('hex')}`;
  await rename(tmp, blobPathIn(layout)(digest));
  return { digest, size, diffId: `sha256:${diff.digest('hex')}` };
}

/**
 * Debian packages of bookworm's main suite (not -security, so older than the fixes the security
 * suite has), fetched by `apt-get download` into .cache/debs once and kept there.
 */
export async function bookwormDebs(names: readonly string[]): Promise<string[]> {
  const cache = join(REPO_ROOT, '.cache/debs');
  await mkdir(cache, { recursive: true });
  const have = async () => (await readdir(cache)).filter((f) => f.endsWith('.deb'));
  const find = (files: string[], n: string) => files.find((f) => f.startsWith(`${n}_`));
  let files = await have();
  const missing = names.filter((n) => !find(files, n));
  if (missing.length) {
    // download into a private folder and rename in, so parallel runs never see a partial file
    const tmp = await mkdtemp(join(cache, 'dl-'));
    try {
      await run('apt-get', ['download', ...missing.map((n) => `${n}/bookworm`)], { cwd: tmp, timeout: 120_000 });
      for (const f of await readdir(tmp)) await rename(join(tmp, f), join(cache, f));
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
    files = await have();
  }
  return names.map((n) => {
    const f = find(files, n);
    if (!f) throw new Error(`apt-get download gave no ${n}`);
    return join(cache, f);
  });
}

/**
 * What dpkg would leave on disk after `dpkg -i` of the .debs on top of a Debian root: their files
 * (`dpkg-deb -x`), `var/lib/dpkg/status` = the base's status plus an installed stanza per
 * package, and `var/lib/dpkg/info/<pkg>[:arch].list`.
 */
export async function debLayer(dir: string, baseStatus: string, debs: readonly string[]): Promise<void> {
  const stanzas: string[] = [];
  await mkdir(join(dir, 'var/lib/dpkg/info'), { recursive: true });
  for (const deb of debs) {
    await run('dpkg-deb', ['-x', deb, dir]);
    const control = (await run('dpkg-deb', ['-f', deb])).stdout.trimEnd();
    const field = (k: string) => new RegExp(`^${k}: (.*)$`, 'm').exec(control)?.[1];
    const lines = control.split('\n');
    // dpkg writes Status right after Package
    stanzas.push([lines[0], 'Status: install ok installed', ...lines.slice(1)].join('\n'));
    const listed = (await run('dpkg-deb', ['--fsys-tarfile', deb], { encoding: 'buffer', maxBuffer: 256 * 1024 * 1024 })).stdout;
    const tmpTar = `${dir}.fsys.tar`;
    await writeFile(tmpTar, listed);
    const paths = (await run('tar', ['-tf', tmpTar])).stdout
      .split('\n')
      .filter(Boolean)
      .map((p) => (p === './' ? '/.' : p.replace(/^\.\//, '/').replace(/\/$/, '')));
    await rm(tmpTar);
    const name = field('Package')!;
    const list = field('Multi-Arch') === 'same' ? `${name}:${field('Architecture')}` : name;
    await writeFile(join(dir, 'var/lib/dpkg/info', `${list}.list`), paths.join('\n') + '\n');
  }
  await writeFile(join(dir, 'var/lib/dpkg/status'), `${baseStatus.trimEnd()}\n\n${stanzas.join('\n\n')}\n`);
}

/**
 * `go build` of a small program with Debian's Go, offline (no module proxy): the standard
 * library and a module replaced by a local folder. Returns the binary's path.
 */
export async function goProgram(dir: string): Promise<string> {
  await mkdir(join(dir, 'greet'), { recursive: true });
  await writeFile(join(dir, 'go.mod'), 'module example.com/berth/hello\n\ngo 1.19\n\nrequire example.com/berth/greet v1.2.3\n\nreplace example.com/berth/greet => ./greet\n');
  await writeFile(join(dir, 'main.go'), 'package main\n\nimport (\n\t"fmt"\n\n\t"example.com/berth/greet"\n)\n\nfunc main() { fmt.Println(greet.Hello("berth")) }\n');
  await writeFile(join(dir, 'greet/go.mod'), 'module example.com/berth/greet\n\ngo 1.19\n');
  await writeFile(join(dir, 'greet/greet.go'), 'package greet\n\n// Hello greets.\nfunc Hello(who string) string { return "hello, " + who }\n');
  const out = join(dir, 'hello');
  await run('go', ['build', '-trimpath', '-buildvcs=false', '-o', out, '.'], {
    cwd: dir,
    timeout: 120_000,
    env: { ...process.env, GOPROXY: 'off', GOFLAGS: '-mod=mod', GOTOOLCHAIN: 'local', CGO_ENABLED: '0', GOCACHE: join(REPO_ROOT, '.cache/go-build'), GOPATH: join(dir, '.gopath') },
  });
  return out;
}
